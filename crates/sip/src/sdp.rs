//! SDP (RFC 8866) for one audio stream and the offer/answer model (RFC 3264): PCMU, PCMA,
//! Opus and telephone-event, ptime, direction attributes and legacy `c=0.0.0.0` hold.
//!
//! As in str0m, making an offer returns a [`PendingOffer`] that accepting the answer consumes,
//! so an answer can be applied only to the offer it answers, and only once.

use std::fmt::{self, Write as _};

/// Why an SDP body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    /// The body is not SDP we can read (peer's fault).
    #[error("malformed SDP: {0}")]
    Malformed(&'static str),
    /// No audio stream, or none with a codec in common (answer 488).
    #[error("no acceptable audio stream")]
    NotAcceptable,
    /// The answer does not belong to the outstanding offer (our bug or a late message).
    #[error("answer does not match the outstanding offer")]
    StaleAnswer,
    /// An offer arrived while ours awaits its answer (answer 491 Request Pending).
    #[error("offer received while our own offer is outstanding")]
    Glare,
}

/// Codecs we can send and receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    Pcmu,
    Pcma,
    /// opus/48000/2 with in-band FEC.
    Opus,
}

impl Codec {
    fn encoding(self) -> &'static str {
        match self {
            Self::Pcmu => "PCMU",
            Self::Pcma => "PCMA",
            Self::Opus => "opus",
        }
    }

    fn clock_rate(self) -> u32 {
        match self {
            Self::Pcmu | Self::Pcma => 8000,
            Self::Opus => 48000,
        }
    }

    fn channels(self) -> Option<u8> {
        match self {
            Self::Opus => Some(2),
            _ => None,
        }
    }

    fn static_payload(self) -> Option<u8> {
        match self {
            Self::Pcmu => Some(0),
            Self::Pcma => Some(8),
            Self::Opus => None,
        }
    }

    fn fmtp(self) -> Option<&'static str> {
        match self {
            Self::Opus => Some("useinbandfec=1"),
            _ => None,
        }
    }

    fn matches(self, map: &RtpMap) -> bool {
        map.encoding.eq_ignore_ascii_case(self.encoding())
            && map.clock_rate == self.clock_rate()
            && (self.channels().is_none() || map.channels.unwrap_or(1) == self.channels().unwrap_or(1))
    }
}

/// Media direction from the describing side's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn from_flags(send: bool, recv: bool) -> Self {
        match (send, recv) {
            (true, true) => Self::SendRecv,
            (true, false) => Self::SendOnly,
            (false, true) => Self::RecvOnly,
            (false, false) => Self::Inactive,
        }
    }

    pub fn sends(self) -> bool {
        matches!(self, Self::SendRecv | Self::SendOnly)
    }

    pub fn receives(self) -> bool {
        matches!(self, Self::SendRecv | Self::RecvOnly)
    }

    /// The same stream seen from the other side.
    pub fn reversed(self) -> Self {
        Self::from_flags(self.receives(), self.sends())
    }

    /// What both allow.
    fn and(self, other: Self) -> Self {
        Self::from_flags(self.sends() && other.sends(), self.receives() && other.receives())
    }

    fn attribute(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "sendrecv" => Self::SendRecv,
            "sendonly" => Self::SendOnly,
            "recvonly" => Self::RecvOnly,
            "inactive" => Self::Inactive,
            _ => return None,
        })
    }
}

/// `a=rtpmap:<pt> <encoding>/<clock>[/<channels>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    pub payload_type: u8,
    pub encoding: String,
    pub clock_rate: u32,
    pub channels: Option<u8>,
}

/// One `m=` section with the attributes we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    pub kind: String,
    pub port: u16,
    pub proto: String,
    pub formats: Vec<String>,
    pub connection: Option<String>,
    pub rtpmaps: Vec<RtpMap>,
    pub fmtps: Vec<(u8, String)>,
    pub ptime: Option<u32>,
    pub direction: Option<Direction>,
}

impl Media {
    /// The rtpmap of a payload type, including the static ones RFC 3551 defines.
    pub fn rtpmap(&self, pt: u8) -> Option<RtpMap> {
        self.rtpmaps.iter().find(|m| m.payload_type == pt).cloned().or_else(|| {
            let (encoding, clock_rate) = match pt {
                0 => ("PCMU", 8000),
                8 => ("PCMA", 8000),
                _ => return None,
            };
            Some(RtpMap {
                payload_type: pt,
                encoding: encoding.to_owned(),
                clock_rate,
                channels: None,
            })
        })
    }

    fn payload_types(&self) -> impl Iterator<Item = u8> + '_ {
        self.formats.iter().filter_map(|f| f.parse().ok())
    }
}

/// A parsed session description (only what a voice UA needs; other lines are skipped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub origin_user: String,
    pub session_id: u64,
    pub session_version: u64,
    pub origin_address: String,
    pub connection: Option<String>,
    pub direction: Option<Direction>,
    pub media: Vec<Media>,
}

fn connection_address(value: &str) -> Result<String, SdpError> {
    let mut parts = value.split_whitespace();
    match (parts.next(), parts.next(), parts.next()) {
        (Some("IN"), Some("IP4" | "IP6"), Some(addr)) => Ok(addr.split('/').next().unwrap_or(addr).to_owned()),
        _ => Err(SdpError::Malformed("bad c= line")),
    }
}

impl SessionDescription {
    pub fn parse(text: &str) -> Result<Self, SdpError> {
        let mut origin = None;
        let mut connection = None;
        let mut direction = None;
        let mut media: Vec<Media> = Vec::new();
        let mut saw_version = false;
        for line in text.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty()) {
            let (kind, value) = line.split_once('=').ok_or(SdpError::Malformed("line without ="))?;
            match kind {
                "v" => saw_version = value == "0",
                "o" => {
                    let f: Vec<&str> = value.split_whitespace().collect();
                    let [user, id, version, _, _, addr] = f.as_slice() else {
                        return Err(SdpError::Malformed("bad o= line"));
                    };
                    let id = id.parse().map_err(|_| SdpError::Malformed("bad session id"))?;
                    let version = version
                        .parse()
                        .map_err(|_| SdpError::Malformed("bad session version"))?;
                    origin = Some(((*user).to_owned(), id, version, (*addr).to_owned()));
                }
                "c" => {
                    let addr = connection_address(value)?;
                    match media.last_mut() {
                        Some(m) => m.connection = Some(addr),
                        None => connection = Some(addr),
                    }
                }
                "m" => {
                    let mut f = value.split_whitespace();
                    let (Some(kind), Some(port), Some(proto)) = (f.next(), f.next(), f.next()) else {
                        return Err(SdpError::Malformed("bad m= line"));
                    };
                    let port = port.split('/').next().unwrap_or(port);
                    let port = port.parse().map_err(|_| SdpError::Malformed("bad media port"))?;
                    media.push(Media {
                        kind: kind.to_owned(),
                        port,
                        proto: proto.to_owned(),
                        formats: f.map(str::to_owned).collect(),
                        connection: None,
                        rtpmaps: Vec::new(),
                        fmtps: Vec::new(),
                        ptime: None,
                        direction: None,
                    });
                }
                "a" => {
                    let (name, arg) = value.split_once(':').unwrap_or((value, ""));
                    if let Some(dir) = Direction::parse(name) {
                        match media.last_mut() {
                            Some(m) => m.direction = Some(dir),
                            None => direction = Some(dir),
                        }
                        continue;
                    }
                    let Some(m) = media.last_mut() else { continue };
                    match name {
                        // Attributes of formats we may not even use: skip what we cannot read
                        // rather than refuse the session (RFC 4475's SDP has `rtpmap:31 LPC`).
                        "rtpmap" => m.rtpmaps.extend(parse_rtpmap(arg)),
                        "fmtp" => {
                            let (pt, params) = arg.split_once(' ').unwrap_or((arg, ""));
                            if let Ok(pt) = pt.parse() {
                                m.fmtps.push((pt, params.trim().to_owned()));
                            }
                        }
                        "ptime" => m.ptime = arg.trim().parse().ok(),
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        if !saw_version {
            return Err(SdpError::Malformed("missing v=0"));
        }
        let (origin_user, session_id, session_version, origin_address) =
            origin.ok_or(SdpError::Malformed("missing o= line"))?;
        Ok(Self {
            origin_user,
            session_id,
            session_version,
            origin_address,
            connection,
            direction,
            media,
        })
    }

    fn media_connection<'a>(&'a self, media: &'a Media) -> Option<&'a str> {
        media.connection.as_deref().or(self.connection.as_deref())
    }
}

fn parse_rtpmap(arg: &str) -> Option<RtpMap> {
    let (pt, rest) = arg.split_once(' ')?;
    let mut parts = rest.trim().split('/');
    let encoding = parts.next().filter(|e| !e.is_empty())?;
    let clock_rate = parts.next()?.parse().ok()?;
    let channels = match parts.next() {
        Some(c) => Some(c.parse().ok()?),
        None => None,
    };
    Some(RtpMap {
        payload_type: pt.parse().ok()?,
        encoding: encoding.to_owned(),
        clock_rate,
        channels,
    })
}

/// Our media capabilities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaConfig {
    /// Address for `o=` and `c=` (IPv4 or IPv6 literal).
    pub address: String,
    /// Local RTP port.
    pub port: u16,
    /// Codecs in preference order.
    pub codecs: Vec<Codec>,
    /// Offer and accept RFC 4733 telephone-event/8000.
    pub telephone_event: bool,
    /// Packetisation we ask for, in ms.
    pub ptime: u32,
}

/// The negotiated stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    pub codec: Codec,
    /// Payload type the codec uses on this stream.
    pub payload_type: u8,
    /// Payload type of telephone-event if both sides support it.
    pub telephone_event: Option<u8>,
    pub remote_address: String,
    pub remote_port: u16,
    /// Our direction: whether we should send and expect to receive.
    pub direction: Direction,
    /// The remote side stopped receiving (a=sendonly/inactive or c=0.0.0.0): we are on hold.
    pub held_by_remote: bool,
    pub ptime: u32,
}

/// An offer waiting for its answer. Not `Clone`: one offer, one answer.
#[derive(Debug, PartialEq, Eq)]
pub struct PendingOffer {
    generation: u64,
    codecs: Vec<(Codec, u8)>,
    telephone_event: Option<u8>,
    direction: Direction,
}

/// One session's offer/answer state: origin, version and outstanding offer.
#[derive(Debug, Clone)]
pub struct Negotiator {
    config: MediaConfig,
    session_id: u64,
    version: u64,
    last_body: Option<String>,
    generation: u64,
    outstanding: Option<u64>,
}

const TELEPHONE_EVENT_PT: u8 = 101;
const OPUS_PT: u8 = 111;

impl Negotiator {
    /// `session_id` should be random (from the caller's seeded RNG) and unique per session.
    pub fn new(config: MediaConfig, session_id: u64) -> Self {
        Self {
            config,
            session_id,
            version: session_id,
            last_body: None,
            generation: 0,
            outstanding: None,
        }
    }

    /// Builds an offer with every configured codec, wanting `direction` (sendonly to hold).
    pub fn create_offer(&mut self, direction: Direction) -> (String, PendingOffer) {
        let codecs: Vec<(Codec, u8)> = self
            .config
            .codecs
            .iter()
            .map(|c| (*c, c.static_payload().unwrap_or(OPUS_PT)))
            .collect();
        let telephone_event = self.config.telephone_event.then_some(TELEPHONE_EVENT_PT);
        let body = self.render(self.config.port, &codecs, telephone_event, direction, self.config.ptime);
        self.generation += 1;
        self.outstanding = Some(self.generation);
        let pending = PendingOffer {
            generation: self.generation,
            codecs,
            telephone_event,
            direction,
        };
        (body, pending)
    }

    /// Takes back an offer that was refused (a non-2xx to our re-INVITE): the previous session
    /// stays in effect and a new offer may follow.
    pub fn withdraw(&mut self, pending: PendingOffer) {
        if self.outstanding == Some(pending.generation) {
            self.outstanding = None;
        }
    }

    /// Applies the answer to the offer it answers.
    pub fn accept_answer(&mut self, pending: PendingOffer, answer: &str) -> Result<Negotiated, SdpError> {
        if self.outstanding != Some(pending.generation) {
            return Err(SdpError::StaleAnswer);
        }
        self.outstanding = None;
        let sdp = SessionDescription::parse(answer)?;
        let (media, address) = sdp
            .media
            .iter()
            .find(|m| m.kind == "audio" && m.port != 0)
            .and_then(|m| sdp.media_connection(m).map(|a| (m, a)))
            .ok_or(SdpError::NotAcceptable)?;
        // The answerer may renumber dynamic payload types: match by rtpmap, use its numbers.
        let (codec, payload_type) = media
            .payload_types()
            .find_map(|pt| {
                let map = media.rtpmap(pt)?;
                pending
                    .codecs
                    .iter()
                    .find(|(c, _)| c.matches(&map))
                    .map(|(c, _)| (*c, pt))
            })
            .ok_or(SdpError::NotAcceptable)?;
        let telephone_event = pending.telephone_event.and(find_telephone_event(media));
        let theirs = remote_direction(&sdp, media, address);
        Ok(Negotiated {
            codec,
            payload_type,
            telephone_event,
            remote_address: address.to_owned(),
            remote_port: media.port,
            direction: pending.direction.and(theirs.reversed()),
            held_by_remote: !theirs.receives(),
            ptime: media.ptime.unwrap_or(self.config.ptime),
        })
    }

    /// Answers a remote offer wanting `direction`; one m-line per offered m-line, in order,
    /// accepting the first audio stream with a common codec and rejecting the rest (port 0).
    /// An offer while ours is outstanding is glare ([`SdpError::Glare`]).
    pub fn answer_offer(&mut self, offer: &str, direction: Direction) -> Result<(String, Negotiated), SdpError> {
        if self.outstanding.is_some() {
            return Err(SdpError::Glare);
        }
        let sdp = SessionDescription::parse(offer)?;
        let mut chosen: Option<(usize, Negotiated)> = None;
        for (index, media) in sdp.media.iter().enumerate() {
            if chosen.is_some() || media.kind != "audio" || media.port == 0 {
                continue;
            }
            let Some(address) = sdp.media_connection(media) else {
                continue;
            };
            // Our preference order decides among the codecs both support.
            let pick = self.config.codecs.iter().find_map(|codec| {
                media.payload_types().find_map(|pt| {
                    let map = media.rtpmap(pt)?;
                    codec.matches(&map).then_some((*codec, pt))
                })
            });
            let Some((codec, payload_type)) = pick else {
                continue;
            };
            let theirs = remote_direction(&sdp, media, address);
            chosen = Some((
                index,
                Negotiated {
                    codec,
                    payload_type,
                    telephone_event: self
                        .config
                        .telephone_event
                        .then(|| find_telephone_event(media))
                        .flatten(),
                    remote_address: address.to_owned(),
                    remote_port: media.port,
                    direction: direction.and(theirs.reversed()),
                    held_by_remote: !theirs.receives(),
                    ptime: media.ptime.unwrap_or(self.config.ptime),
                },
            ));
        }
        let (accepted, negotiated) = chosen.ok_or(SdpError::NotAcceptable)?;
        let mut body = self.header();
        for (index, media) in sdp.media.iter().enumerate() {
            if index == accepted {
                let codecs = [(negotiated.codec, negotiated.payload_type)];
                self.media_section(
                    &mut body,
                    self.config.port,
                    &codecs,
                    negotiated.telephone_event,
                    negotiated.direction,
                    negotiated.ptime,
                );
            } else {
                let format = media.formats.first().map_or("0", String::as_str);
                let _ = write!(body, "m={} 0 {} {format}\r\n", media.kind, media.proto);
            }
        }
        let body = self.versioned(body);
        Ok((body, negotiated))
    }

    fn header(&self) -> String {
        let family = if self.config.address.contains(':') {
            "IP6"
        } else {
            "IP4"
        };
        format!(
            "v=0\r\no=- {} {{version}} IN {family} {addr}\r\ns=-\r\nc=IN {family} {addr}\r\nt=0 0\r\n",
            self.session_id,
            addr = self.config.address,
        )
    }

    fn media_section(
        &self,
        out: &mut String,
        port: u16,
        codecs: &[(Codec, u8)],
        telephone_event: Option<u8>,
        direction: Direction,
        ptime: u32,
    ) {
        let mut formats: Vec<String> = codecs.iter().map(|(_, pt)| pt.to_string()).collect();
        formats.extend(telephone_event.map(|pt| pt.to_string()));
        let _ = write!(out, "m=audio {port} RTP/AVP {}\r\n", formats.join(" "));
        for (codec, pt) in codecs {
            match codec.channels() {
                Some(ch) => {
                    let _ = write!(
                        out,
                        "a=rtpmap:{pt} {}/{}/{ch}\r\n",
                        codec.encoding(),
                        codec.clock_rate()
                    );
                }
                None => {
                    let _ = write!(out, "a=rtpmap:{pt} {}/{}\r\n", codec.encoding(), codec.clock_rate());
                }
            }
            if let Some(fmtp) = codec.fmtp() {
                let _ = write!(out, "a=fmtp:{pt} {fmtp}\r\n");
            }
        }
        if let Some(pt) = telephone_event {
            let _ = write!(out, "a=rtpmap:{pt} telephone-event/8000\r\na=fmtp:{pt} 0-16\r\n");
        }
        let _ = write!(out, "a=ptime:{ptime}\r\na={}\r\n", direction.attribute());
    }

    fn render(
        &mut self,
        port: u16,
        codecs: &[(Codec, u8)],
        telephone_event: Option<u8>,
        direction: Direction,
        ptime: u32,
    ) -> String {
        let mut body = self.header();
        self.media_section(&mut body, port, codecs, telephone_event, direction, ptime);
        self.versioned(body)
    }

    /// Fills in `o=` version: unchanged content keeps it, any change increments it (RFC 3264 §8).
    fn versioned(&mut self, template: String) -> String {
        if self.last_body.as_deref() != Some(template.as_str()) {
            if self.last_body.is_some() {
                self.version += 1;
            }
            self.last_body = Some(template.clone());
        }
        template.replace("{version}", &self.version.to_string())
    }
}

fn find_telephone_event(media: &Media) -> Option<u8> {
    media.payload_types().find(|pt| {
        media
            .rtpmap(*pt)
            .is_some_and(|m| m.encoding.eq_ignore_ascii_case("telephone-event") && m.clock_rate == 8000)
    })
}

/// The direction the remote side declares; `c=0.0.0.0` (RFC 2543 hold) means it receives nothing.
fn remote_direction(sdp: &SessionDescription, media: &Media, address: &str) -> Direction {
    let declared = media.direction.or(sdp.direction).unwrap_or(Direction::SendRecv);
    if address == "0.0.0.0" {
        Direction::from_flags(declared.sends(), false)
    } else {
        declared
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.attribute())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn negotiator(codecs: &[Codec]) -> Negotiator {
        Negotiator::new(
            MediaConfig {
                address: "192.0.2.10".into(),
                port: 40000,
                codecs: codecs.to_vec(),
                telephone_event: true,
                ptime: 20,
            },
            1234,
        )
    }

    const PEER_OFFER: &str = "v=0\r\no=peer 99 1 IN IP4 192.0.2.20\r\ns=call\r\nc=IN IP4 192.0.2.20\r\nt=0 0\r\n\
        m=audio 50000 RTP/AVP 8 0 96 101\r\na=rtpmap:96 OPUS/48000/2\r\na=fmtp:96 useinbandfec=1\r\n\
        a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:30\r\n\
        m=video 50002 RTP/AVP 31\r\n";

    #[test]
    fn offer_lists_every_codec_with_dtmf_ptime_and_direction() {
        let mut n = negotiator(&[Codec::Opus, Codec::Pcmu, Codec::Pcma]);
        let (body, _) = n.create_offer(Direction::SendRecv);
        assert!(body.contains("m=audio 40000 RTP/AVP 111 0 8 101\r\n"), "{body}");
        assert!(body.contains("a=rtpmap:111 opus/48000/2\r\na=fmtp:111 useinbandfec=1\r\n"));
        assert!(body.contains("a=rtpmap:0 PCMU/8000\r\n"));
        assert!(body.contains("a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"));
        assert!(body.contains("a=ptime:20\r\na=sendrecv\r\n"));
        assert!(body.contains("c=IN IP4 192.0.2.10\r\n"));
        let parsed = SessionDescription::parse(&body).unwrap();
        assert_eq!(parsed.media[0].port, 40000);
    }

    #[test]
    fn answer_prefers_our_order_keeps_their_numbers_and_rejects_video() {
        let mut n = negotiator(&[Codec::Opus, Codec::Pcmu]);
        let (body, neg) = n.answer_offer(PEER_OFFER, Direction::SendRecv).unwrap();
        assert_eq!((neg.codec, neg.payload_type), (Codec::Opus, 96));
        assert_eq!(neg.telephone_event, Some(101));
        assert_eq!((neg.remote_address.as_str(), neg.remote_port), ("192.0.2.20", 50000));
        assert_eq!(neg.ptime, 30);
        assert_eq!(neg.direction, Direction::SendRecv);
        assert!(!neg.held_by_remote);
        let lines: Vec<&str> = body.lines().filter(|l| l.starts_with("m=")).collect();
        assert_eq!(lines, vec!["m=audio 40000 RTP/AVP 96 101", "m=video 0 RTP/AVP 31"]);
        assert!(body.contains("a=fmtp:96 useinbandfec=1"));
    }

    #[test]
    fn static_payload_types_need_no_rtpmap() {
        let mut n = negotiator(&[Codec::Pcma]);
        let (_, neg) = n.answer_offer(PEER_OFFER, Direction::SendRecv).unwrap();
        assert_eq!((neg.codec, neg.payload_type), (Codec::Pcma, 8));
    }

    #[test]
    fn no_common_codec_is_not_acceptable() {
        let offer = PEER_OFFER
            .replace("8 0 96 101", "18")
            .replace("a=rtpmap:96 OPUS/48000/2", "");
        let mut n = negotiator(&[Codec::Pcmu]);
        assert_eq!(
            n.answer_offer(&offer, Direction::SendRecv),
            Err(SdpError::NotAcceptable)
        );
    }

    #[test]
    fn telephone_event_is_answered_only_when_offered() {
        let offer = PEER_OFFER.replace(" 101\r\n", "\r\n");
        let mut n = negotiator(&[Codec::Pcmu]);
        let (body, neg) = n.answer_offer(&offer, Direction::SendRecv).unwrap();
        assert_eq!(neg.telephone_event, None);
        assert!(!body.contains("telephone-event"));
    }

    #[test]
    fn directions_in_answers() {
        for (offered, ours, held) in [
            ("a=sendonly", Direction::RecvOnly, true),
            ("a=recvonly", Direction::SendOnly, false),
            ("a=inactive", Direction::Inactive, true),
            ("a=sendrecv", Direction::SendRecv, false),
        ] {
            let offer = PEER_OFFER.replace("a=ptime:30", offered);
            let mut n = negotiator(&[Codec::Pcmu]);
            let (body, neg) = n.answer_offer(&offer, Direction::SendRecv).unwrap();
            assert_eq!((neg.direction, neg.held_by_remote), (ours, held), "{offered}");
            assert!(body.contains(&format!("a={ours}")), "{offered}: {body}");
        }
    }

    #[test]
    fn legacy_zero_address_hold_and_session_level_direction() {
        let offer = PEER_OFFER.replace("c=IN IP4 192.0.2.20", "c=IN IP4 0.0.0.0");
        let mut n = negotiator(&[Codec::Pcmu]);
        let (_, neg) = n.answer_offer(&offer, Direction::SendRecv).unwrap();
        assert!(neg.held_by_remote);
        assert_eq!(neg.direction, Direction::RecvOnly);

        let offer = PEER_OFFER.replace("t=0 0\r\n", "t=0 0\r\na=sendonly\r\n");
        let mut n = negotiator(&[Codec::Pcmu]);
        assert!(n.answer_offer(&offer, Direction::SendRecv).unwrap().1.held_by_remote);
    }

    #[test]
    fn answer_applies_to_its_offer_with_renumbered_payloads() {
        let mut n = negotiator(&[Codec::Opus, Codec::Pcmu]);
        let (_, pending) = n.create_offer(Direction::SendOnly);
        let answer = "v=0\r\no=peer 5 5 IN IP4 192.0.2.30\r\ns=-\r\nc=IN IP4 192.0.2.30\r\nt=0 0\r\n\
            m=audio 6000 RTP/AVP 98 100\r\na=rtpmap:98 opus/48000/2\r\na=rtpmap:100 telephone-event/8000\r\na=recvonly\r\n";
        let neg = n.accept_answer(pending, answer).unwrap();
        assert_eq!(
            (neg.codec, neg.payload_type, neg.telephone_event),
            (Codec::Opus, 98, Some(100))
        );
        assert_eq!(neg.direction, Direction::SendOnly);
        assert!(!neg.held_by_remote);
        assert_eq!((neg.remote_address.as_str(), neg.remote_port), ("192.0.2.30", 6000));
    }

    #[test]
    fn a_superseded_offer_cannot_take_an_answer() {
        let mut n = negotiator(&[Codec::Pcmu]);
        let (_, first) = n.create_offer(Direction::SendRecv);
        let (_, second) = n.create_offer(Direction::SendOnly);
        let answer = PEER_OFFER.replace("8 0 96 101", "0");
        assert_eq!(n.accept_answer(first, &answer), Err(SdpError::StaleAnswer));
        assert!(n.accept_answer(second, &answer).is_ok());
    }

    #[test]
    fn offer_during_our_outstanding_offer_is_glare() {
        let mut n = negotiator(&[Codec::Pcmu]);
        let _pending = n.create_offer(Direction::SendRecv);
        assert_eq!(n.answer_offer(PEER_OFFER, Direction::SendRecv), Err(SdpError::Glare));
    }

    #[test]
    fn answer_with_audio_rejected_is_not_acceptable() {
        let mut n = negotiator(&[Codec::Pcmu]);
        let (_, pending) = n.create_offer(Direction::SendRecv);
        let answer = PEER_OFFER.replace("m=audio 50000", "m=audio 0");
        assert_eq!(n.accept_answer(pending, &answer), Err(SdpError::NotAcceptable));
    }

    #[test]
    fn origin_version_moves_only_when_content_changes() {
        let mut n = negotiator(&[Codec::Pcmu]);
        let version = |body: &str| SessionDescription::parse(body).unwrap().session_version;
        let (a, _) = n.create_offer(Direction::SendRecv);
        let (b, _) = n.create_offer(Direction::SendRecv);
        let (c, _) = n.create_offer(Direction::SendOnly);
        assert_eq!(version(&a), version(&b));
        assert_eq!(version(&c), version(&a) + 1);
    }

    #[test]
    fn unreadable_attributes_of_other_formats_are_skipped() {
        let offer = PEER_OFFER.replace(
            "m=video 50002 RTP/AVP 31\r\n",
            "m=video 50002 RTP/AVP 31\r\na=rtpmap:31 LPC\r\na=fmtp:x y\r\n",
        );
        let sdp = SessionDescription::parse(&offer).unwrap();
        assert!(sdp.media[1].rtpmaps.is_empty());
        assert!(sdp.media[1].fmtps.is_empty());
        let mut n = negotiator(&[Codec::Pcmu]);
        assert!(n.answer_offer(&offer, Direction::SendRecv).is_ok());
    }

    #[test]
    fn malformed_bodies_are_errors() {
        for body in [
            "",
            "o=x 1 1 IN IP4 h\r\n",
            "v=0\r\no=x 1 1 IN IP4 h\r\nm=audio port RTP/AVP 0\r\n",
            "v=0\r\no=x 1\r\n",
            "v=0\r\no=x 1 1 IN IP4 h\r\nc=garbage\r\n",
        ] {
            assert!(
                matches!(SessionDescription::parse(body), Err(SdpError::Malformed(_))),
                "{body:?}"
            );
        }
    }
}
