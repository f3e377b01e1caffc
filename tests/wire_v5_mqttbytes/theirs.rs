//! mqttbytes's side of the oracle: the mqttbytes packet with the same
//! fields and property values as one of ours (built field by field, no
//! codec involved), and mqttbytes's own reading and writing.

use bytes::{Bytes, BytesMut};
use limpet::wire::v5::{Packet, Properties, Property, RetainHandling};
use limpet::wire::QoS;
use mqttbytes::v5 as m;

fn qos(q: QoS) -> mqttbytes::QoS {
    match q {
        QoS::AtMostOnce => mqttbytes::QoS::AtMostOnce,
        QoS::AtLeastOnce => mqttbytes::QoS::AtLeastOnce,
        QoS::ExactlyOnce => mqttbytes::QoS::ExactlyOnce,
    }
}

/// The variant of one of mqttbytes's fieldless reason enums whose value is `code`.
macro_rules! pick {
    ($ty:ty, $code:expr, [$($v:ident),* $(,)?]) => {{
        let code: u8 = $code as u8;
        [$(<$ty>::$v),*]
            .into_iter()
            .find(|v| *v as u8 == code)
            .unwrap_or_else(|| panic!("{code:#x} not in {}", stringify!($ty)))
    }};
}

fn s(x: &str) -> String {
    x.to_string()
}

/// The properties of a block folded into mqttbytes's typed fields: one
/// `Option` per single property, vectors for the repeated ones.
#[derive(Default)]
struct Fold {
    payload_format: Option<u8>,
    message_expiry: Option<u32>,
    content_type: Option<String>,
    response_topic: Option<String>,
    correlation: Option<Bytes>,
    sub_ids: Vec<usize>,
    session_expiry: Option<u32>,
    assigned_id: Option<String>,
    server_keep_alive: Option<u16>,
    auth_method: Option<String>,
    auth_data: Option<Bytes>,
    request_problem: Option<u8>,
    will_delay: Option<u32>,
    request_response: Option<u8>,
    response_info: Option<String>,
    server_reference: Option<String>,
    reason_string: Option<String>,
    receive_max: Option<u16>,
    topic_alias_max: Option<u16>,
    topic_alias: Option<u16>,
    max_qos: Option<u8>,
    retain_available: Option<u8>,
    users: Vec<(String, String)>,
    max_packet_size: Option<u32>,
    wildcard: Option<u8>,
    sub_ids_available: Option<u8>,
    shared: Option<u8>,
}

fn fold(p: &Properties<'_>) -> Option<Fold> {
    if p.is_empty() {
        return None;
    }
    let mut f = Fold::default();
    for prop in p.iter() {
        match prop {
            Property::PayloadFormatIndicator(b) => f.payload_format = Some(b),
            Property::MessageExpiryInterval(n) => f.message_expiry = Some(n),
            Property::ContentType(x) => f.content_type = Some(s(x)),
            Property::ResponseTopic(x) => f.response_topic = Some(s(x)),
            Property::CorrelationData(b) => f.correlation = Some(Bytes::copy_from_slice(b)),
            Property::SubscriptionIdentifier(n) => f.sub_ids.push(n as usize),
            Property::SessionExpiryInterval(n) => f.session_expiry = Some(n),
            Property::AssignedClientIdentifier(x) => f.assigned_id = Some(s(x)),
            Property::ServerKeepAlive(n) => f.server_keep_alive = Some(n),
            Property::AuthenticationMethod(x) => f.auth_method = Some(s(x)),
            Property::AuthenticationData(b) => f.auth_data = Some(Bytes::copy_from_slice(b)),
            Property::RequestProblemInformation(b) => f.request_problem = Some(b),
            Property::WillDelayInterval(n) => f.will_delay = Some(n),
            Property::RequestResponseInformation(b) => f.request_response = Some(b),
            Property::ResponseInformation(x) => f.response_info = Some(s(x)),
            Property::ServerReference(x) => f.server_reference = Some(s(x)),
            Property::ReasonString(x) => f.reason_string = Some(s(x)),
            Property::ReceiveMaximum(n) => f.receive_max = Some(n),
            Property::TopicAliasMaximum(n) => f.topic_alias_max = Some(n),
            Property::TopicAlias(n) => f.topic_alias = Some(n),
            Property::MaximumQoS(b) => f.max_qos = Some(b),
            Property::RetainAvailable(b) => f.retain_available = Some(b),
            Property::UserProperty(k, v) => f.users.push((s(k), s(v))),
            Property::MaximumPacketSize(n) => f.max_packet_size = Some(n),
            Property::WildcardSubscriptionAvailable(b) => f.wildcard = Some(b),
            Property::SubscriptionIdentifiersAvailable(b) => f.sub_ids_available = Some(b),
            Property::SharedSubscriptionAvailable(b) => f.shared = Some(b),
        }
    }
    Some(f)
}

/// The reason string and user properties of an acknowledgement.
macro_rules! ack_props {
    ($ty:ident, $p:expr) => {
        fold($p).map(|f| m::$ty {
            reason_string: f.reason_string,
            user_properties: f.users,
        })
    };
}

/// mqttbytes's packet with `p`'s fields.
pub fn their_packet(p: &Packet<'_>) -> m::Packet {
    match *p {
        Packet::Connect(c) => m::Packet::Connect(m::Connect {
            protocol: mqttbytes::Protocol::V5,
            keep_alive: c.keep_alive,
            client_id: s(c.client_id),
            clean_session: c.clean_start,
            last_will: c.will.map(|w| m::LastWill {
                topic: s(w.topic),
                message: Bytes::copy_from_slice(w.payload),
                qos: qos(w.qos),
                retain: w.retain,
                properties: fold(&w.properties).map(|f| m::WillProperties {
                    delay_interval: f.will_delay,
                    payload_format_indicator: f.payload_format,
                    message_expiry_interval: f.message_expiry,
                    content_type: f.content_type,
                    response_topic: f.response_topic,
                    correlation_data: f.correlation,
                    user_properties: f.users,
                }),
            }),
            login: c.username.map(|u| m::Login {
                username: s(u),
                password: String::from_utf8(c.password.unwrap_or_default().to_vec()).unwrap(),
            }),
            properties: fold(&c.properties).map(|f| m::ConnectProperties {
                session_expiry_interval: f.session_expiry,
                receive_maximum: f.receive_max,
                max_packet_size: f.max_packet_size,
                topic_alias_max: f.topic_alias_max,
                request_response_info: f.request_response,
                request_problem_info: f.request_problem,
                user_properties: f.users,
                authentication_method: f.auth_method,
                authentication_data: f.auth_data,
            }),
        }),
        Packet::ConnAck(a) => m::Packet::ConnAck(m::ConnAck {
            session_present: a.session_present,
            code: pick!(
                m::ConnectReturnCode,
                a.reason,
                [
                    Success,
                    UnspecifiedError,
                    MalformedPacket,
                    ProtocolError,
                    ImplementationSpecificError,
                    UnsupportedProtocolVersion,
                    ClientIdentifierNotValid,
                    BadUserNamePassword,
                    NotAuthorized,
                    ServerUnavailable,
                    ServerBusy,
                    Banned,
                    BadAuthenticationMethod,
                    TopicNameInvalid,
                    PacketTooLarge,
                    QuotaExceeded,
                    PayloadFormatInvalid,
                    RetainNotSupported,
                    QoSNotSupported,
                    UseAnotherServer,
                    ServerMoved,
                    ConnectionRateExceeded,
                ]
            ),
            properties: fold(&a.properties).map(|f| m::ConnAckProperties {
                session_expiry_interval: f.session_expiry,
                receive_max: f.receive_max,
                max_qos: f.max_qos,
                retain_available: f.retain_available,
                max_packet_size: f.max_packet_size,
                assigned_client_identifier: f.assigned_id,
                topic_alias_max: f.topic_alias_max,
                reason_string: f.reason_string,
                user_properties: f.users,
                wildcard_subscription_available: f.wildcard,
                subscription_identifiers_available: f.sub_ids_available,
                shared_subscription_available: f.shared,
                server_keep_alive: f.server_keep_alive,
                response_information: f.response_info,
                server_reference: f.server_reference,
                authentication_method: f.auth_method,
                authentication_data: f.auth_data,
            }),
        }),
        Packet::Publish(x) => m::Packet::Publish(m::Publish {
            dup: x.dup,
            qos: qos(x.qos),
            retain: x.retain,
            topic: s(x.topic),
            pkid: x.pid.unwrap_or(0),
            properties: fold(&x.properties).map(|f| m::PublishProperties {
                payload_format_indicator: f.payload_format,
                message_expiry_interval: f.message_expiry,
                topic_alias: f.topic_alias,
                response_topic: f.response_topic,
                correlation_data: f.correlation,
                user_properties: f.users,
                subscription_identifiers: f.sub_ids,
                content_type: f.content_type,
            }),
            payload: Bytes::copy_from_slice(x.payload),
        }),
        Packet::PubAck(a) => m::Packet::PubAck(m::PubAck {
            pkid: a.pid,
            reason: pick!(
                m::PubAckReason,
                a.reason,
                [
                    Success,
                    NoMatchingSubscribers,
                    UnspecifiedError,
                    ImplementationSpecificError,
                    NotAuthorized,
                    TopicNameInvalid,
                    PacketIdentifierInUse,
                    QuotaExceeded,
                    PayloadFormatInvalid,
                ]
            ),
            properties: ack_props!(PubAckProperties, &a.properties),
        }),
        Packet::PubRec(a) => m::Packet::PubRec(m::PubRec {
            pkid: a.pid,
            reason: pick!(
                m::PubRecReason,
                a.reason,
                [
                    Success,
                    NoMatchingSubscribers,
                    UnspecifiedError,
                    ImplementationSpecificError,
                    NotAuthorized,
                    TopicNameInvalid,
                    PacketIdentifierInUse,
                    QuotaExceeded,
                    PayloadFormatInvalid,
                ]
            ),
            properties: ack_props!(PubRecProperties, &a.properties),
        }),
        Packet::PubRel(a) => m::Packet::PubRel(m::PubRel {
            pkid: a.pid,
            reason: pick!(
                m::PubRelReason,
                a.reason,
                [Success, PacketIdentifierNotFound]
            ),
            properties: ack_props!(PubRelProperties, &a.properties),
        }),
        Packet::PubComp(a) => m::Packet::PubComp(m::PubComp {
            pkid: a.pid,
            reason: pick!(
                m::PubCompReason,
                a.reason,
                [Success, PacketIdentifierNotFound]
            ),
            properties: ack_props!(PubCompProperties, &a.properties),
        }),
        Packet::Subscribe(x) => m::Packet::Subscribe(m::Subscribe {
            pkid: x.pid,
            filters: x
                .topics
                .iter()
                .map(|(path, o)| m::SubscribeFilter {
                    path: s(path),
                    qos: qos(o.qos),
                    nolocal: o.no_local,
                    preserve_retain: o.retain_as_published,
                    retain_forward_rule: match o.retain_handling {
                        RetainHandling::SendAtSubscribe => m::RetainForwardRule::OnEverySubscribe,
                        RetainHandling::SendIfNew => m::RetainForwardRule::OnNewSubscribe,
                        RetainHandling::DoNotSend => m::RetainForwardRule::Never,
                    },
                })
                .collect(),
            properties: fold(&x.properties).map(|f| m::SubscribeProperties {
                id: f.sub_ids.first().copied(),
                user_properties: f.users,
            }),
        }),
        Packet::SubAck(x) => m::Packet::SubAck(m::SubAck {
            pkid: x.pid,
            return_codes: x
                .codes
                .iter()
                .map(|&c| m::SubscribeReasonCode::try_from(c).unwrap())
                .collect(),
            properties: ack_props!(SubAckProperties, &x.properties),
        }),
        Packet::Unsubscribe(x) => m::Packet::Unsubscribe(m::Unsubscribe {
            pkid: x.pid,
            filters: x.topics.iter().map(s).collect(),
            properties: fold(&x.properties).map(|f| m::UnsubscribeProperties {
                user_properties: f.users,
            }),
        }),
        Packet::UnsubAck(x) => m::Packet::UnsubAck(m::UnsubAck {
            pkid: x.pid,
            reasons: x
                .codes
                .iter()
                .map(|&c| {
                    pick!(
                        m::UnsubAckReason,
                        c,
                        [
                            Success,
                            NoSubscriptionExisted,
                            UnspecifiedError,
                            ImplementationSpecificError,
                            NotAuthorized,
                            TopicFilterInvalid,
                            PacketIdentifierInUse,
                        ]
                    )
                })
                .collect(),
            properties: ack_props!(UnsubAckProperties, &x.properties),
        }),
        Packet::PingReq => m::Packet::PingReq,
        Packet::PingResp => m::Packet::PingResp,
        Packet::Disconnect(d) => m::Packet::Disconnect(m::Disconnect {
            reason_code: m::DisconnectReasonCode::try_from(d.reason as u8).unwrap(),
            properties: fold(&d.properties).map(|f| m::DisconnectProperties {
                session_expiry_interval: f.session_expiry,
                reason_string: f.reason_string,
                user_properties: f.users,
                server_reference: f.server_reference,
            }),
        }),
        Packet::Auth(_) => panic!("mqttbytes 0.6 has no AUTH"),
    }
}

/// mqttbytes reads one whole packet, through each type's own `read`.
pub fn their_read(bytes: &[u8]) -> Result<m::Packet, mqttbytes::Error> {
    let header = mqttbytes::check(bytes.iter(), usize::MAX)?;
    let b = Bytes::copy_from_slice(bytes);
    use mqttbytes::PacketType as T;
    Ok(match header.packet_type()? {
        T::Connect => m::Packet::Connect(m::Connect::read(header, b)?),
        T::ConnAck => m::Packet::ConnAck(m::ConnAck::read(header, b)?),
        T::Publish => m::Packet::Publish(m::Publish::read(header, b)?),
        T::PubAck => m::Packet::PubAck(m::PubAck::read(header, b)?),
        T::PubRec => m::Packet::PubRec(m::PubRec::read(header, b)?),
        T::PubRel => m::Packet::PubRel(m::PubRel::read(header, b)?),
        T::PubComp => m::Packet::PubComp(m::PubComp::read(header, b)?),
        T::Subscribe => m::Packet::Subscribe(m::Subscribe::read(header, b)?),
        T::SubAck => m::Packet::SubAck(m::SubAck::read(header, b)?),
        T::Unsubscribe => m::Packet::Unsubscribe(m::Unsubscribe::read(header, b)?),
        T::UnsubAck => m::Packet::UnsubAck(m::UnsubAck::read(header, b)?),
        T::PingReq => m::Packet::PingReq,
        T::PingResp => m::Packet::PingResp,
        T::Disconnect => m::Packet::Disconnect(m::Disconnect::read(header, b)?),
    })
}

/// mqttbytes writes the packet.
pub fn their_write(p: &m::Packet) -> Vec<u8> {
    let mut buf = BytesMut::new();
    match p {
        m::Packet::Connect(x) => x.write(&mut buf).map(drop),
        m::Packet::ConnAck(x) => x.write(&mut buf).map(drop),
        m::Packet::Publish(x) => x.write(&mut buf).map(drop),
        m::Packet::PubAck(x) => x.write(&mut buf).map(drop),
        m::Packet::PubRec(x) => x.write(&mut buf).map(drop),
        m::Packet::PubRel(x) => x.write(&mut buf).map(drop),
        m::Packet::PubComp(x) => x.write(&mut buf).map(drop),
        m::Packet::Subscribe(x) => x.write(&mut buf).map(drop),
        m::Packet::SubAck(x) => x.write(&mut buf).map(drop),
        m::Packet::Unsubscribe(x) => x.write(&mut buf).map(drop),
        m::Packet::UnsubAck(x) => x.write(&mut buf).map(drop),
        m::Packet::PingReq => m::PingReq.write(&mut buf).map(drop),
        m::Packet::PingResp => m::PingResp.write(&mut buf).map(drop),
        m::Packet::Disconnect(x) => x.write(&mut buf).map(drop),
    }
    .unwrap();
    buf.to_vec()
}
