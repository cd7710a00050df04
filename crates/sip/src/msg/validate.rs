//! Semantic checks that decide whether a framed message is usable (RFC 3261 §8.2.1–8.2.3, §16.3
//! for the single-value rules, RFC 4475 for the cases peers get wrong).

use super::{Headers, Malformed, Request, Response};

/// Headers RFC 3261 allows at most once.
const SINGLE: &[&str] = &["From", "To", "Call-ID", "CSeq", "Max-Forwards", "Content-Type"];

fn common(headers: &Headers) -> Result<(), Malformed> {
    for name in SINGLE {
        if headers.count(name) > 1 {
            return Err(Malformed::Repeated(name));
        }
    }
    let vias = headers.vias()?;
    if vias.is_empty() {
        return Err(Malformed::Missing("Via"));
    }
    headers.from()?;
    headers.to()?;
    headers.call_id()?;
    headers.cseq()?;
    Ok(())
}

pub(super) fn request(request: &Request) -> Result<(), Malformed> {
    common(&request.headers)?;
    if request.headers.cseq()?.method != request.method {
        return Err(Malformed::CSeqMethod);
    }
    request.headers.max_forwards()?;
    request.headers.contacts()?;
    if let Some(date) = request.headers.get("Date")
        && !date.ends_with(" GMT")
    {
        return Err(Malformed::header("Date", "time zone is not GMT"));
    }
    Ok(())
}

pub(super) fn response(response: &Response) -> Result<(), Malformed> {
    common(&response.headers)
}
