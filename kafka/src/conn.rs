//! conn.rs owns one client connection: length-prefixed frames in, one request at a time (as
//! Kafka serves a connection), responses out in order. A request whose API or version is not
//! served gets UNSUPPORTED_VERSION and the connection stays open; a frame that cannot be
//! parsed closes only this connection. With SASL on, the connection must authenticate
//! (SaslHandshake v1 then SaslAuthenticate) before any request but ApiVersions: another
//! request first, or failed credentials (answered with error 58), close it.

use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;

use crate::broker::{code, Broker};
use crate::sasl::{Exchange, Step};
use crate::{admin, api_versions, fetch, group, metadata, offsets, produce, txn};

#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("frame of {0} bytes refused (must be 8..={1})")]
    FrameSize(i64, usize),
    #[error("cannot decode {api:?} v{version}: {reason}")]
    Decode {
        api: ApiKey,
        version: i16,
        reason: String,
    },
    #[error("{api:?} before SASL authentication: connection closed")]
    Unauthenticated { api: ApiKey },
    #[error("SASL authentication failed: {0}")]
    AuthenticationFailed(String),
    #[error("cannot encode the response to {api:?} v{version}: {reason}")]
    Encode {
        api: ApiKey,
        version: i16,
        reason: String,
    },
}

/// Where a connection is with SASL.
enum Auth {
    /// SASL off, or authenticated (as this user, when on).
    Open(Option<String>),
    /// SASL on: a SaslHandshake is expected.
    Handshake,
    /// SASL on: the mechanism was chosen; SaslAuthenticate messages carry the exchange.
    Authenticating(Exchange),
    /// SASL on, after a SaslHandshake v0: the exchange's messages are raw frames (a length
    /// and the bytes, no request header).
    AuthenticatingRaw(Exchange),
}

/// One connection's state across its requests.
struct ConnState {
    auth: Auth,
    /// A failed authentication: close once its answer is sent.
    close: Option<String>,
}

pub async fn serve_connection(broker: Arc<Broker>, stream: TcpStream) -> Result<(), ConnError> {
    let mut state = ConnState {
        auth: if broker.config.sasl.is_some() {
            Auth::Handshake
        } else {
            Auth::Open(None)
        },
        close: None,
    };
    let (rd, wr) = stream.into_split();
    let mut rd = BufReader::with_capacity(64 << 10, rd);
    let mut wr = BufWriter::with_capacity(64 << 10, wr);
    loop {
        let len = match rd.read_i32().await {
            Ok(len) => len,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                if let Auth::Open(Some(user)) = &state.auth {
                    tracing::debug!(%user, "kafka: SASL-authenticated connection closed");
                }
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let max = broker.config.max_request_bytes;
        let raw = matches!(state.auth, Auth::AuthenticatingRaw(_));
        if len < if raw { 0 } else { 8 } || len as usize > max {
            return Err(ConnError::FrameSize(len as i64, max));
        }
        let mut frame = vec![0u8; len as usize];
        rd.read_exact(&mut frame).await?;
        if raw {
            let Auth::AuthenticatingRaw(exchange) =
                std::mem::replace(&mut state.auth, Auth::Handshake)
            else {
                unreachable!("checked above")
            };
            let reply = sasl_step(&broker, &mut state, exchange, Bytes::from(frame), true).await;
            if let Err(reason) = reply {
                // v0 has no way to tell the client why: close.
                return Err(ConnError::AuthenticationFailed(reason));
            }
            let bytes = reply.unwrap_or_default();
            wr.write_i32(bytes.len() as i32).await?;
            wr.write_all(&bytes).await?;
            wr.flush().await?;
            continue;
        }
        if let Some(response) = handle_frame(&broker, &mut state, Bytes::from(frame)).await? {
            wr.write_i32(response.len() as i32).await?;
            wr.write_all(&response).await?;
            wr.flush().await?;
        }
        if let Some(reason) = state.close.take() {
            return Err(ConnError::AuthenticationFailed(reason));
        }
    }
}

/// The response header and body for one request frame (`None`: no response, acks=0).
async fn handle_frame(
    broker: &Arc<Broker>,
    state: &mut ConnState,
    frame: Bytes,
) -> Result<Option<BytesMut>, ConnError> {
    let mut peek = &frame[..];
    let api_key = peek.get_i16();
    let version = peek.get_i16();
    let correlation_id = peek.get_i32();
    let Some((api, _, _)) =
        api_versions::supported(api_key).filter(|(_, min, max)| (*min..=*max).contains(&version))
    else {
        return Ok(Some(unsupported(api_key, version, correlation_id)));
    };
    let authenticated = matches!(state.auth, Auth::Open(_));
    if !authenticated
        && !matches!(
            api,
            ApiKey::ApiVersions | ApiKey::SaslHandshake | ApiKey::SaslAuthenticate
        )
    {
        tracing::info!(?api, "kafka: request before SASL authentication, closing");
        return Err(ConnError::Unauthenticated { api });
    }
    let mut body = frame;
    let header =
        RequestHeader::decode(&mut body, api.request_header_version(version)).map_err(|e| {
            ConnError::Decode {
                api,
                version,
                reason: format!("header: {e}"),
            }
        })?;
    let ctx = Ctx {
        api,
        version,
        correlation_id,
        client_id: header
            .client_id
            .as_ref()
            .map(|s| s.to_string())
            .unwrap_or_default(),
    };
    macro_rules! decode {
        ($ty:ty) => {
            <$ty>::decode(&mut body, version).map_err(|e| ConnError::Decode {
                api,
                version,
                reason: e.to_string(),
            })?
        };
    }
    let response = match api {
        ApiKey::ApiVersions => ctx.encode(&api_versions::handle(decode!(ApiVersionsRequest)))?,
        ApiKey::Metadata => {
            ctx.encode(&metadata::handle(broker, decode!(MetadataRequest), version))?
        }
        ApiKey::Produce => {
            let request = decode!(ProduceRequest);
            let acks = request.acks;
            let response = produce::handle(broker, request, version).await;
            if acks == 0 {
                return Ok(None);
            }
            ctx.encode(&response)?
        }
        ApiKey::Fetch => {
            ctx.encode(&fetch::handle(broker, decode!(FetchRequest), version).await)?
        }
        ApiKey::ListOffsets => {
            ctx.encode(&offsets::list_offsets(broker, decode!(ListOffsetsRequest)).await)?
        }
        ApiKey::OffsetCommit => {
            ctx.encode(&offsets::commit(broker, decode!(OffsetCommitRequest)).await)?
        }
        ApiKey::OffsetFetch => ctx.encode(&offsets::fetch(broker, decode!(OffsetFetchRequest)))?,
        ApiKey::FindCoordinator => ctx.encode(&group::find_coordinator(
            broker,
            decode!(FindCoordinatorRequest),
            version,
        ))?,
        ApiKey::JoinGroup => {
            ctx.encode(&group::join(broker, decode!(JoinGroupRequest), &ctx).await)?
        }
        ApiKey::SyncGroup => ctx.encode(&group::sync(broker, decode!(SyncGroupRequest)).await)?,
        ApiKey::Heartbeat => ctx.encode(&group::heartbeat(broker, decode!(HeartbeatRequest)))?,
        ApiKey::LeaveGroup => {
            ctx.encode(&group::leave(broker, decode!(LeaveGroupRequest), version))?
        }
        ApiKey::ListGroups => ctx.encode(&group::list(broker, decode!(ListGroupsRequest)))?,
        ApiKey::DescribeGroups => {
            ctx.encode(&group::describe(broker, decode!(DescribeGroupsRequest)))?
        }
        ApiKey::CreateTopics => {
            ctx.encode(&admin::create_topics(broker, decode!(CreateTopicsRequest)).await)?
        }
        ApiKey::DeleteTopics => {
            ctx.encode(&admin::delete_topics(broker, decode!(DeleteTopicsRequest)).await)?
        }
        ApiKey::DescribeConfigs => ctx.encode(&admin::describe_configs(
            broker,
            decode!(DescribeConfigsRequest),
        ))?,
        ApiKey::CreatePartitions => ctx.encode(&admin::create_partitions(
            broker,
            decode!(CreatePartitionsRequest),
        ))?,
        ApiKey::InitProducerId => {
            let request = decode!(InitProducerIdRequest);
            if request.transactional_id.is_some() {
                ctx.encode(&txn::init_producer_id(broker, request).await)?
            } else {
                ctx.encode(&admin::init_producer_id(broker, request))?
            }
        }
        ApiKey::AddPartitionsToTxn => ctx.encode(&txn::add_partitions(
            broker,
            decode!(AddPartitionsToTxnRequest),
        ))?,
        ApiKey::AddOffsetsToTxn => {
            ctx.encode(&txn::add_offsets(broker, decode!(AddOffsetsToTxnRequest)))?
        }
        ApiKey::TxnOffsetCommit => {
            ctx.encode(&txn::txn_offset_commit(broker, decode!(TxnOffsetCommitRequest)).await)?
        }
        ApiKey::EndTxn => ctx.encode(&txn::end(broker, decode!(EndTxnRequest)).await)?,
        ApiKey::SaslHandshake => {
            let request = decode!(SaslHandshakeRequest);
            ctx.encode(&sasl_handshake(broker, state, request, version))?
        }
        ApiKey::SaslAuthenticate => {
            let request = decode!(SaslAuthenticateRequest);
            ctx.encode(&sasl_authenticate(broker, state, request).await)?
        }
        other => return Ok(Some(unsupported(other as i16, version, correlation_id))),
    };
    Ok(Some(response))
}

fn sasl_handshake(
    broker: &Broker,
    state: &mut ConnState,
    request: SaslHandshakeRequest,
    version: i16,
) -> SaslHandshakeResponse {
    let Some(users) = &broker.config.sasl else {
        return SaslHandshakeResponse::default().with_error_code(code::ILLEGAL_SASL_STATE);
    };
    let names = users
        .mechanism_names()
        .into_iter()
        .map(StrBytes::from_static_str)
        .collect();
    let response = SaslHandshakeResponse::default().with_mechanisms(names);
    if !matches!(state.auth, Auth::Handshake) {
        return response.with_error_code(code::ILLEGAL_SASL_STATE);
    }
    match users.mechanism(&request.mechanism) {
        Some(m) => {
            let exchange = Exchange::start(m);
            state.auth = if version == 0 {
                Auth::AuthenticatingRaw(exchange)
            } else {
                Auth::Authenticating(exchange)
            };
            response.with_error_code(code::NONE)
        }
        None => response.with_error_code(code::UNSUPPORTED_SASL_MECHANISM),
    }
}

async fn sasl_authenticate(
    broker: &Broker,
    state: &mut ConnState,
    request: SaslAuthenticateRequest,
) -> SaslAuthenticateResponse {
    let illegal = || {
        SaslAuthenticateResponse::default()
            .with_error_code(code::ILLEGAL_SASL_STATE)
            .with_error_message(Some(StrBytes::from_static_str(
                "SaslAuthenticate without a SaslHandshake choosing a mechanism",
            )))
    };
    if broker.config.sasl.is_none() {
        return illegal();
    }
    let exchange = match std::mem::replace(&mut state.auth, Auth::Handshake) {
        Auth::Authenticating(exchange) => exchange,
        other => {
            state.auth = other;
            return illegal();
        }
    };
    match sasl_step(broker, state, exchange, request.auth_bytes, false).await {
        Ok(bytes) => SaslAuthenticateResponse::default()
            .with_error_code(code::NONE)
            .with_auth_bytes(bytes),
        Err(reason) => {
            state.close = Some(reason.clone());
            SaslAuthenticateResponse::default()
                .with_error_code(code::SASL_AUTHENTICATION_FAILED)
                .with_error_message(Some(StrBytes::from_string(reason)))
        }
    }
}

/// Feeds one client message to the exchange: the bytes to answer with (the connection's
/// state moved on), or why authentication failed.
async fn sasl_step(
    broker: &Broker,
    state: &mut ConnState,
    exchange: Exchange,
    message: Bytes,
    raw: bool,
) -> Result<Bytes, String> {
    let Some(users) = broker.config.sasl.clone() else {
        return Err("SASL is not enabled on this listener".into());
    };
    // PBKDF2 (PLAIN) and the SCRAM proof are CPU work: off the async threads.
    let step = tokio::task::spawn_blocking(move || exchange.step(&users, &message))
        .await
        .unwrap_or_else(|_| Step::Failed("authentication failed".into()));
    match step {
        Step::Continue(next, bytes) => {
            state.auth = if raw {
                Auth::AuthenticatingRaw(next)
            } else {
                Auth::Authenticating(next)
            };
            Ok(Bytes::from(bytes))
        }
        Step::Done(user, bytes) => {
            tracing::debug!(%user, "kafka: SASL authenticated");
            state.auth = Auth::Open(Some(user));
            Ok(Bytes::from(bytes))
        }
        Step::Failed(reason) => {
            tracing::info!(%reason, "kafka: SASL authentication failed");
            Err(reason)
        }
    }
}

/// What a handler needs to know about the request it serves.
pub struct Ctx {
    pub api: ApiKey,
    pub version: i16,
    pub correlation_id: i32,
    pub client_id: String,
}

impl Ctx {
    fn encode<R: Encodable>(&self, response: &R) -> Result<BytesMut, ConnError> {
        let mut out = BytesMut::with_capacity(64);
        let header = ResponseHeader::default().with_correlation_id(self.correlation_id);
        let err = |reason: String| ConnError::Encode {
            api: self.api,
            version: self.version,
            reason,
        };
        header
            .encode(&mut out, self.api.response_header_version(self.version))
            .map_err(|e| err(e.to_string()))?;
        response
            .encode(&mut out, self.version)
            .map_err(|e| err(e.to_string()))?;
        Ok(out)
    }
}

/// UNSUPPORTED_VERSION for an API or version not served. ApiVersions gets the v0 body with
/// the served ranges (clients retry with a version listed); other APIs get a header and the
/// error code alone, and the connection stays open.
fn unsupported(api_key: i16, version: i16, correlation_id: i32) -> BytesMut {
    tracing::debug!(api_key, version, "kafka: unsupported API or version");
    let mut out = BytesMut::with_capacity(256);
    out.put_i32(correlation_id);
    if api_key == ApiKey::ApiVersions as i16 {
        // A v0 body cannot fail to encode: plain int16/int32 fields.
        if api_versions::unsupported_version()
            .encode(&mut out, 0)
            .is_ok()
        {
            return out;
        }
    }
    out.put_i16(code::UNSUPPORTED_VERSION);
    out
}
