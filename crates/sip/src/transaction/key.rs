//! Transaction identity (RFC 3261 §17.1.3, §17.2.3): the top Via branch, its sent-by and the
//! method, where ACK (for a non-2xx) belongs to the INVITE it acknowledges. Requests from
//! RFC 2543 peers, whose branch lacks the magic cookie, fall back to the dialog identifiers.

use rand::RngCore;

use crate::msg::{Malformed, Method, Request, Response, SentBy};

/// A key equal for every message of one transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TransactionKey {
    Rfc3261 {
        branch: String,
        sent_by: String,
        method: Method,
    },
    Rfc2543 {
        call_id: String,
        from_tag: String,
        cseq: u32,
        via: String,
        method: Method,
    },
}

/// The method a message's transaction is named by: ACK joins its INVITE.
fn transaction_method(method: &Method) -> Method {
    match method {
        Method::Ack => Method::Invite,
        other => other.clone(),
    }
}

fn sent_by_key(sent_by: &SentBy, transport: &str) -> String {
    let default_port = if transport.eq_ignore_ascii_case("TLS") {
        5061
    } else {
        5060
    };
    format!(
        "{}:{}",
        sent_by.host.to_ascii_lowercase(),
        sent_by.port.unwrap_or(default_port)
    )
}

impl TransactionKey {
    /// The server transaction a request belongs to.
    pub fn for_request(request: &Request) -> Result<Self, Malformed> {
        Self::build(request, transaction_method(&request.method))
    }

    /// The INVITE server transaction a CANCEL targets (§9.2: same key, method INVITE).
    pub fn cancelled_by(cancel: &Request) -> Result<Self, Malformed> {
        Self::build(cancel, Method::Invite)
    }

    fn build(request: &Request, method: Method) -> Result<Self, Malformed> {
        let via = request.headers.top_via()?;
        let sent_by = sent_by_key(&via.sent_by, &via.transport);
        match via.rfc3261_branch() {
            Some(branch) => Ok(Self::Rfc3261 {
                branch,
                sent_by,
                method,
            }),
            None => Ok(Self::Rfc2543 {
                call_id: request.headers.call_id()?.to_owned(),
                from_tag: request.headers.from()?.tag().unwrap_or_default(),
                cseq: request.headers.cseq()?.seq,
                via: format!("{sent_by};{}", via.branch().unwrap_or_default()),
                method,
            }),
        }
    }

    /// The key of a client transaction sending `request` (its own method, CANCEL included).
    pub fn for_client(request: &Request) -> Result<Self, Malformed> {
        let via = request.headers.top_via()?;
        let branch = via
            .rfc3261_branch()
            .ok_or(Malformed::header("Via", "no RFC 3261 branch"))?;
        Ok(Self::Rfc3261 {
            branch,
            sent_by: sent_by_key(&via.sent_by, &via.transport),
            method: request.method.clone(),
        })
    }

    /// The client transaction a response belongs to (§17.1.3: branch and CSeq method).
    pub fn for_response(response: &Response) -> Result<Self, Malformed> {
        let via = response.headers.top_via()?;
        let branch = via
            .branch()
            .ok_or(Malformed::header("Via", "response without branch"))?;
        Ok(Self::Rfc3261 {
            branch,
            sent_by: sent_by_key(&via.sent_by, &via.transport),
            method: response.headers.cseq()?.method,
        })
    }
}

/// A fresh branch with the RFC 3261 magic cookie and 64 random bits.
pub fn new_branch(rng: &mut impl RngCore) -> String {
    format!("z9hG4bK{:016x}", rng.next_u64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{Limits, Message, parse};

    fn request(method: &str, branch: &str, via_host: &str) -> Request {
        let text = format!(
            "{method} sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/UDP {via_host};branch={branch}\r\n\
             From: <sip:a@example.com>;tag=f\r\nTo: <sip:b@example.com>\r\nCall-ID: c1\r\n\
             CSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
        );
        match parse(text.as_bytes(), &Limits::default()).unwrap() {
            Message::Request(r) => r,
            Message::Response(_) => unreachable!(),
        }
    }

    #[test]
    fn ack_matches_its_invite_and_cancel_targets_it() {
        let invite = TransactionKey::for_request(&request("INVITE", "z9hG4bK1", "h:5060")).unwrap();
        let ack = TransactionKey::for_request(&request("ACK", "z9hG4bK1", "H")).unwrap();
        assert_eq!(invite, ack, "host case and the default port do not matter");
        let cancel = request("CANCEL", "z9hG4bK1", "h");
        assert_ne!(TransactionKey::for_request(&cancel).unwrap(), invite);
        assert_eq!(TransactionKey::cancelled_by(&cancel).unwrap(), invite);
    }

    #[test]
    fn branch_and_sent_by_both_distinguish() {
        let a = TransactionKey::for_request(&request("OPTIONS", "z9hG4bK1", "h")).unwrap();
        let b = TransactionKey::for_request(&request("OPTIONS", "z9hG4bK2", "h")).unwrap();
        let c = TransactionKey::for_request(&request("OPTIONS", "z9hG4bK1", "h:5070")).unwrap();
        assert_ne!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn cookie_less_branch_falls_back_to_rfc2543_matching() {
        let key = TransactionKey::for_request(&request("OPTIONS", "z9hG4bK", "h")).unwrap();
        assert!(matches!(key, TransactionKey::Rfc2543 { cseq: 1, .. }));
    }

    #[test]
    fn branches_are_unique_and_carry_the_cookie() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let (a, b) = (new_branch(&mut rng), new_branch(&mut rng));
        assert!(a.starts_with("z9hG4bK") && a.len() > 7);
        assert_ne!(a, b);
    }
}
