//! SASL on the listener: PLAIN with librdkafka as the client (the right password produces
//! and consumes; a wrong password, an unknown user and a client without SASL are refused);
//! SCRAM-SHA-256 at the wire with an RFC 5802 client written here, because Debian's
//! librdkafka 2.0.2 repeats the client nonce in its client-final message (fixed in
//! librdkafka 2.1), which any RFC-conforming server, Kafka's included, refuses; only
//! ApiVersions is answered before authentication and anything else closes the connection.

mod common;

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use brook_kafka::{KafkaConfig, SaslUsers};
use bytes::{Bytes, BytesMut};
use common::TestBroker;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::{Message, Offset, TopicPartitionList};

fn sasl_broker() -> TestBroker {
    let users = SaslUsers::from_pairs([("alice", "alice-secret"), ("bob", "b0b:pass")]).unwrap();
    TestBroker::start_with(KafkaConfig {
        sasl: Some(Arc::new(users)),
        ..Default::default()
    })
}

fn with_sasl(broker: &TestBroker, mechanism: &str, user: &str, password: &str) -> ClientConfig {
    let mut config = broker.client_config();
    config
        .set("security.protocol", "SASL_PLAINTEXT")
        .set("sasl.mechanism", mechanism)
        .set("sasl.username", user)
        .set("sasl.password", password);
    config
}

/// Produces three records and reads them back with the same credentials.
fn round_trip(config: &ClientConfig, topic: &str) {
    let producer: ThreadedProducer<common::Deliveries> = config
        .clone()
        .set("message.timeout.ms", "10000")
        .create_with_context(common::Deliveries::default())
        .unwrap();
    for i in 0..3 {
        let v = format!("v{i}");
        producer
            .send(BaseRecord::<str, str>::to(topic).payload(&v))
            .map_err(|(e, _)| e)
            .unwrap();
    }
    producer.flush(Duration::from_secs(20)).unwrap();
    assert_eq!(
        producer
            .context()
            .ok
            .load(std::sync::atomic::Ordering::SeqCst),
        3,
        "{:?}",
        producer.context().failed.lock().unwrap()
    );
    let consumer: BaseConsumer = config
        .clone()
        .set("group.id", "sasl-reader")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while seen.len() < 3 && std::time::Instant::now() < deadline {
        if let Some(m) = consumer.poll(Duration::from_millis(100)) {
            let m = m.unwrap();
            seen.push(String::from_utf8(m.payload().unwrap().to_vec()).unwrap());
        }
    }
    assert_eq!(seen, ["v0", "v1", "v2"]);
}

/// Whether a client with this configuration gets metadata (authenticates) within 5 s.
fn connects(config: &ClientConfig) -> Result<(), String> {
    let producer: ThreadedProducer<common::Deliveries> = config
        .clone()
        .create_with_context(common::Deliveries::default())
        .unwrap();
    producer
        .client()
        .fetch_metadata(None, Duration::from_secs(5))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

#[test]
fn plain_with_the_right_password_is_accepted() {
    let broker = sasl_broker();
    round_trip(
        &with_sasl(&broker, "PLAIN", "alice", "alice-secret"),
        "plain",
    );
    round_trip(&with_sasl(&broker, "PLAIN", "bob", "b0b:pass"), "plain-bob");
}

#[test]
fn wrong_passwords_unknown_users_and_clients_without_sasl_are_refused() {
    let broker = sasl_broker();
    let wrong = connects(&with_sasl(&broker, "PLAIN", "alice", "nope"));
    assert!(wrong.is_err(), "a wrong password connected");
    let unknown = connects(&with_sasl(&broker, "PLAIN", "mallory", "alice-secret"));
    assert!(unknown.is_err(), "an unknown user connected");
    assert!(
        connects(&broker.client_config()).is_err(),
        "a client without SASL got metadata"
    );
    // The broker is still healthy for the right credentials.
    connects(&with_sasl(&broker, "PLAIN", "alice", "alice-secret")).unwrap();
}

/// One request frame (header v1) with an empty body.
fn frame(api: i16, version: i16, correlation: i32) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&api.to_be_bytes());
    body.extend_from_slice(&version.to_be_bytes());
    body.extend_from_slice(&correlation.to_be_bytes());
    body.extend_from_slice(&(-1i16).to_be_bytes());
    if api == 3 {
        // Metadata v1: topics = null.
        body.extend_from_slice(&(-1i32).to_be_bytes());
    }
    let mut out = (body.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(&body);
    out
}

#[test]
fn only_api_versions_is_answered_before_authentication() {
    let broker = sasl_broker();
    let mut stream = std::net::TcpStream::connect(&broker.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    // ApiVersions v0: answered.
    stream.write_all(&frame(18, 0, 1)).unwrap();
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).unwrap();
    let mut response = vec![0u8; i32::from_be_bytes(len) as usize];
    stream.read_exact(&mut response).unwrap();
    assert_eq!(&response[..4], &1i32.to_be_bytes());
    // Metadata v1 before authenticating: the connection is closed, nothing answered.
    stream.write_all(&frame(3, 1, 2)).unwrap();
    let mut rest = Vec::new();
    let read = stream.read_to_end(&mut rest);
    assert!(
        matches!(read, Ok(0)) || read.is_err(),
        "answered {} bytes to an unauthenticated Metadata",
        rest.len()
    );
    // And the listener goes on serving authenticated clients.
    connects(&with_sasl(&broker, "PLAIN", "alice", "alice-secret")).unwrap();
}

/// A raw connection speaking kafka-protocol's client codecs.
struct Wire {
    stream: std::net::TcpStream,
    correlation: i32,
}

impl Wire {
    fn open(broker: &TestBroker) -> Wire {
        let stream = std::net::TcpStream::connect(&broker.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Wire {
            stream,
            correlation: 0,
        }
    }

    /// The response, or None when the server closed the connection.
    fn call<Req: Encodable, Resp: Decodable>(
        &mut self,
        api: ApiKey,
        version: i16,
        request: &Req,
    ) -> Option<Resp> {
        self.correlation += 1;
        let mut buf = BytesMut::new();
        RequestHeader::default()
            .with_request_api_key(api as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .encode(&mut buf, api.request_header_version(version))
            .unwrap();
        request.encode(&mut buf, version).unwrap();
        let mut out = (buf.len() as i32).to_be_bytes().to_vec();
        out.extend_from_slice(&buf);
        self.stream.write_all(&out).ok()?;
        let mut len = [0u8; 4];
        self.stream.read_exact(&mut len).ok()?;
        let mut frame = vec![0u8; i32::from_be_bytes(len) as usize];
        self.stream.read_exact(&mut frame).ok()?;
        let mut frame = Bytes::from(frame);
        ResponseHeader::decode(&mut frame, api.response_header_version(version)).unwrap();
        Some(Resp::decode(&mut frame, version).unwrap())
    }

    fn authenticate(&mut self, message: &[u8]) -> Option<SaslAuthenticateResponse> {
        self.call(
            ApiKey::SaslAuthenticate,
            1,
            &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::copy_from_slice(message)),
        )
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::sign(&key, data).as_ref().to_vec()
}

/// SCRAM-SHA-256 from the client side (RFC 5802): true when the broker accepted the proof
/// and its signature checks out; false when it refused (error 58) and closed.
fn scram_login(broker: &TestBroker, user: &str, password: &str) -> bool {
    let mut wire = Wire::open(broker);
    let handshake: SaslHandshakeResponse = wire
        .call(
            ApiKey::SaslHandshake,
            1,
            &SaslHandshakeRequest::default()
                .with_mechanism(StrBytes::from_static_str("SCRAM-SHA-256")),
        )
        .unwrap();
    assert_eq!(handshake.error_code, 0);
    let bare = format!("n={user},r=rOprNGfwEbeRWgbNEkqO");
    let first = wire.authenticate(format!("n,,{bare}").as_bytes()).unwrap();
    if first.error_code != 0 {
        assert_eq!(first.error_code, 58);
        return false;
    }
    let server_first = String::from_utf8(first.auth_bytes.to_vec()).unwrap();
    let attrs: std::collections::HashMap<&str, &str> = server_first
        .split(',')
        .filter_map(|a| a.split_once('='))
        .collect();
    let salt = B64.decode(attrs["s"]).unwrap();
    let mut salted = [0u8; 32];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        attrs["i"].parse().unwrap(),
        &salt,
        password.as_bytes(),
        &mut salted,
    );
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = ring::digest::digest(&ring::digest::SHA256, &client_key);
    let without_proof = format!("c=biws,r={}", attrs["r"]);
    let auth_message = format!("{bare},{server_first},{without_proof}");
    let signature = hmac(stored_key.as_ref(), auth_message.as_bytes());
    let proof: Vec<u8> = client_key
        .iter()
        .zip(&signature)
        .map(|(a, b)| a ^ b)
        .collect();
    let last = wire
        .authenticate(format!("{without_proof},p={}", B64.encode(proof)).as_bytes())
        .unwrap();
    if last.error_code != 0 {
        assert_eq!(last.error_code, 58);
        // Closed after the refusal.
        let after: Option<MetadataResponse> =
            wire.call(ApiKey::Metadata, 1, &MetadataRequest::default());
        assert!(after.is_none(), "served a request after a failed login");
        return false;
    }
    let server_signature = hmac(&hmac(&salted, b"Server Key"), auth_message.as_bytes());
    assert_eq!(
        String::from_utf8(last.auth_bytes.to_vec()).unwrap(),
        format!("v={}", B64.encode(server_signature)),
        "server signature"
    );
    // Authenticated: ordinary requests are served.
    let metadata: MetadataResponse = wire
        .call(ApiKey::Metadata, 1, &MetadataRequest::default())
        .expect("metadata after login");
    assert_eq!(metadata.brokers.len(), 1);
    true
}

#[test]
fn scram_sha_256_accepts_the_password_and_refuses_others() {
    let broker = sasl_broker();
    assert!(scram_login(&broker, "bob", "b0b:pass"));
    assert!(scram_login(&broker, "alice", "alice-secret"));
    assert!(!scram_login(&broker, "alice", "wrong"));
    assert!(!scram_login(&broker, "mallory", "alice-secret"));
}
