//! group.rs owns the group coordinator of Kafka's classic group protocol: FindCoordinator,
//! JoinGroup / SyncGroup / Heartbeat / LeaveGroup with generations, rebalances on join,
//! leave and session timeout, the leader member running the client's own assignor (so range,
//! roundrobin, sticky and cooperative-sticky all work), and ListGroups / DescribeGroups.
//! Membership is in memory; committed offsets are the log's (see offsets.rs).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use tokio::sync::oneshot;

use crate::broker::{code, Broker};
use crate::conn::Ctx;
use crate::KafkaConfig;

const KEY_TYPE_GROUP: i8 = 0;
const KEY_TYPE_TRANSACTION: i8 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Empty => "Empty",
            State::PreparingRebalance => "PreparingRebalance",
            State::CompletingRebalance => "CompletingRebalance",
            State::Stable => "Stable",
        }
    }
}

struct Member {
    client_id: String,
    client_host: String,
    session_timeout: Duration,
    rebalance_timeout: Duration,
    /// The member's protocols (assignors) in its order of preference, with their metadata.
    protocols: Vec<(String, Bytes)>,
    assignment: Bytes,
    last_seen: Instant,
    /// Set while the member waits in JoinGroup for the rebalance to complete.
    join: Option<oneshot::Sender<JoinGroupResponse>>,
    /// Set while the member waits in SyncGroup for the leader's assignment.
    sync: Option<oneshot::Sender<SyncGroupResponse>>,
}

struct Group {
    state: State,
    generation: i32,
    protocol_type: Option<String>,
    protocol: Option<String>,
    leader: Option<String>,
    members: BTreeMap<String, Member>,
    /// When the rebalance in progress completes at the latest (members that have not
    /// rejoined by then are removed).
    rebalance_deadline: Option<Instant>,
    /// A new group waits this long for more members before completing its first rebalance.
    initial_delay_until: Option<Instant>,
    next_member: u64,
}

impl Group {
    fn new() -> Group {
        Group {
            state: State::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            rebalance_deadline: None,
            initial_delay_until: None,
            next_member: 0,
        }
    }

    fn prepare_rebalance(&mut self, config: &KafkaConfig) {
        let now = Instant::now();
        if self.state == State::Empty || self.generation == 0 {
            let delay = now + config.initial_rebalance_delay;
            self.initial_delay_until = Some(delay);
        }
        if self.state != State::PreparingRebalance {
            let timeout = self
                .members
                .values()
                .map(|m| m.rebalance_timeout)
                .max()
                .unwrap_or(Duration::from_secs(60));
            self.rebalance_deadline = Some(now + timeout);
            // Members waiting for the previous generation's assignment must rejoin.
            for member in self.members.values_mut() {
                if let Some(tx) = member.sync.take() {
                    let _ = tx.send(
                        SyncGroupResponse::default().with_error_code(code::REBALANCE_IN_PROGRESS),
                    );
                }
            }
        }
        self.state = State::PreparingRebalance;
    }

    /// Completes the join phase when every member has rejoined (or the deadline passed).
    fn maybe_complete_join(&mut self, now: Instant) {
        if self.state != State::PreparingRebalance {
            return;
        }
        let all_joined = self.members.values().all(|m| m.join.is_some());
        let delayed = self.initial_delay_until.is_some_and(|t| now < t);
        let expired = self.rebalance_deadline.is_some_and(|t| now >= t);
        if !(expired || (all_joined && !delayed)) {
            return;
        }
        self.members.retain(|_, m| m.join.is_some());
        self.generation += 1;
        self.initial_delay_until = None;
        self.rebalance_deadline = None;
        if self.members.is_empty() {
            self.state = State::Empty;
            self.leader = None;
            self.protocol = None;
            return;
        }
        self.protocol = self.choose_protocol();
        let protocol = self.protocol.clone().unwrap_or_default();
        if !self
            .leader
            .as_ref()
            .is_some_and(|l| self.members.contains_key(l))
        {
            self.leader = self.members.keys().next().cloned();
        }
        let leader = self.leader.clone().unwrap_or_default();
        let listed: Vec<JoinGroupResponseMember> = self
            .members
            .iter()
            .map(|(id, m)| {
                let metadata = m
                    .protocols
                    .iter()
                    .find(|(name, _)| *name == protocol)
                    .map(|(_, md)| md.clone())
                    .unwrap_or_default();
                JoinGroupResponseMember::default()
                    .with_member_id(StrBytes::from_string(id.clone()))
                    .with_metadata(metadata)
            })
            .collect();
        self.state = State::CompletingRebalance;
        for (id, member) in self.members.iter_mut() {
            member.last_seen = now;
            let response = JoinGroupResponse::default()
                .with_error_code(code::NONE)
                .with_generation_id(self.generation)
                .with_protocol_type(self.protocol_type.clone().map(StrBytes::from_string))
                .with_protocol_name(Some(StrBytes::from_string(protocol.clone())))
                .with_leader(StrBytes::from_string(leader.clone()))
                .with_member_id(StrBytes::from_string(id.clone()))
                .with_members(if *id == leader {
                    listed.clone()
                } else {
                    Vec::new()
                });
            if let Some(tx) = member.join.take() {
                let _ = tx.send(response);
            }
        }
    }

    /// The protocol every member supports with the most first-choice votes (Kafka's rule).
    fn choose_protocol(&self) -> Option<String> {
        let first = self.members.values().next()?;
        let candidates: Vec<&String> = first
            .protocols
            .iter()
            .map(|(n, _)| n)
            .filter(|n| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(p, _)| p == *n))
            })
            .collect();
        let mut votes: HashMap<&String, usize> = HashMap::new();
        for m in self.members.values() {
            if let Some((vote, _)) = m.protocols.iter().find(|(p, _)| candidates.contains(&p)) {
                *votes.entry(vote).or_default() += 1;
            }
        }
        // Ties go to the protocol the first member prefers.
        let mut best: Option<(&String, usize)> = None;
        for c in candidates {
            let n = votes.get(c).copied().unwrap_or(0);
            if best.is_none_or(|(_, b)| n > b) {
                best = Some((c, n));
            }
        }
        best.map(|(c, _)| c.clone())
    }

    fn remove_member(&mut self, id: &str, config: &KafkaConfig) {
        if let Some(mut member) = self.members.remove(id) {
            if let Some(tx) = member.join.take() {
                let _ =
                    tx.send(JoinGroupResponse::default().with_error_code(code::UNKNOWN_MEMBER_ID));
            }
            if self.leader.as_deref() == Some(id) {
                self.leader = None;
            }
            if self.members.is_empty() && self.state != State::PreparingRebalance {
                self.state = State::Empty;
                self.generation += 1;
                self.protocol = None;
            } else {
                self.prepare_rebalance(config);
                self.maybe_complete_join(Instant::now());
            }
        }
    }
}

/// Every group this broker coordinates.
pub struct Coordinator {
    groups: Mutex<HashMap<String, Group>>,
}

impl Coordinator {
    pub fn new(_config: &KafkaConfig) -> Coordinator {
        Coordinator {
            groups: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Group>> {
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The error an OffsetCommit by `member` at `generation` gets (NONE: may commit).
    /// Commits without a generation (-1) are from consumers outside group management.
    pub fn check_commit(&self, group: &str, member: &str, generation: i32) -> i16 {
        if group.is_empty() {
            return code::INVALID_GROUP_ID;
        }
        if generation < 0 && member.is_empty() {
            return code::NONE;
        }
        let mut groups = self.lock();
        let Some(g) = groups.get_mut(group) else {
            return code::UNKNOWN_MEMBER_ID;
        };
        let Some(m) = g.members.get_mut(member) else {
            return code::UNKNOWN_MEMBER_ID;
        };
        if generation != g.generation {
            return code::ILLEGAL_GENERATION;
        }
        if g.state == State::CompletingRebalance {
            return code::REBALANCE_IN_PROGRESS;
        }
        m.last_seen = Instant::now();
        code::NONE
    }

    /// Expires members whose session timed out and completes overdue rebalances.
    fn tick(&self, config: &KafkaConfig) {
        let now = Instant::now();
        let mut groups = self.lock();
        for (name, g) in groups.iter_mut() {
            let expired: Vec<String> = g
                .members
                .iter()
                .filter(|(_, m)| {
                    m.join.is_none() && m.sync.is_none() && now - m.last_seen > m.session_timeout
                })
                .map(|(id, _)| id.clone())
                .collect();
            for id in expired {
                tracing::info!(group = name, member = id, "kafka: member session expired");
                g.remove_member(&id, config);
            }
            g.maybe_complete_join(now);
        }
    }
}

/// Runs the coordinator's clock: session expiry and rebalance deadlines.
pub async fn run_reaper(broker: Arc<Broker>) {
    let mut interval = tokio::time::interval(Duration::from_millis(100));
    loop {
        interval.tick().await;
        broker.groups.tick(&broker.config);
    }
}

pub fn find_coordinator(
    broker: &Arc<Broker>,
    request: FindCoordinatorRequest,
    _version: i16,
) -> FindCoordinatorResponse {
    let response = FindCoordinatorResponse::default();
    // Groups (0) and transactions (1): this broker coordinates both.
    if request.key_type != KEY_TYPE_GROUP && request.key_type != KEY_TYPE_TRANSACTION {
        return response
            .with_error_code(code::INVALID_REQUEST)
            .with_error_message(Some(StrBytes::from_string(format!(
                "unknown coordinator key type {}",
                request.key_type
            ))))
            .with_node_id(BrokerId(-1))
            .with_host(StrBytes::from_static_str(""))
            .with_port(-1);
    }
    response
        .with_error_code(code::NONE)
        .with_node_id(BrokerId(broker.config.node_id))
        .with_host(StrBytes::from_string(broker.advertised.0.clone()))
        .with_port(broker.advertised.1 as i32)
}

fn join_error(code: i16, member_id: &str) -> JoinGroupResponse {
    JoinGroupResponse::default()
        .with_error_code(code)
        .with_generation_id(-1)
        .with_member_id(StrBytes::from_string(member_id.to_string()))
}

pub async fn join(broker: &Arc<Broker>, request: JoinGroupRequest, ctx: &Ctx) -> JoinGroupResponse {
    let config = &broker.config;
    let group_id = request.group_id.0.to_string();
    let member_id = request.member_id.to_string();
    if group_id.is_empty() {
        return join_error(code::INVALID_GROUP_ID, &member_id);
    }
    let session = Duration::from_millis(request.session_timeout_ms.max(0) as u64);
    if session < config.min_session_timeout || session > config.max_session_timeout {
        return join_error(code::INVALID_SESSION_TIMEOUT, &member_id);
    }
    // v0 has no rebalance timeout: the session timeout stands in, as in Kafka.
    let rebalance = match request.rebalance_timeout_ms {
        t if t > 0 => Duration::from_millis(t as u64),
        _ => session,
    };
    let protocol_type = request.protocol_type.to_string();
    let protocols: Vec<(String, Bytes)> = request
        .protocols
        .iter()
        .map(|p| (p.name.to_string(), p.metadata.clone()))
        .collect();
    if protocol_type.is_empty() || protocols.is_empty() {
        return join_error(code::INCONSISTENT_GROUP_PROTOCOL, &member_id);
    }
    let rx = {
        let mut groups = broker.groups.lock();
        let g = groups.entry(group_id.clone()).or_insert_with(Group::new);
        if !g.members.is_empty() {
            let same_type = g.protocol_type.as_deref() == Some(protocol_type.as_str());
            let shares = g.members.values().all(|m| {
                m.protocols
                    .iter()
                    .any(|(n, _)| protocols.iter().any(|(p, _)| p == n))
            });
            if !same_type || !shares {
                return join_error(code::INCONSISTENT_GROUP_PROTOCOL, &member_id);
            }
        }
        let id = if member_id.is_empty() {
            g.next_member += 1;
            let client = if ctx.client_id.is_empty() {
                "member"
            } else {
                &ctx.client_id
            };
            format!("{client}-{}-{}", g.generation, g.next_member)
        } else if g.members.contains_key(&member_id) {
            member_id.clone()
        } else {
            return join_error(code::UNKNOWN_MEMBER_ID, &member_id);
        };
        g.protocol_type = Some(protocol_type);
        let (tx, rx) = oneshot::channel();
        let member = g.members.entry(id.clone()).or_insert_with(|| Member {
            client_id: ctx.client_id.clone(),
            client_host: String::new(),
            session_timeout: session,
            rebalance_timeout: rebalance,
            protocols: Vec::new(),
            assignment: Bytes::new(),
            last_seen: Instant::now(),
            join: None,
            sync: None,
        });
        member.session_timeout = session;
        member.rebalance_timeout = rebalance;
        member.protocols = protocols;
        member.last_seen = Instant::now();
        member.join = Some(tx);
        g.prepare_rebalance(config);
        g.maybe_complete_join(Instant::now());
        rx
    };
    rx.await
        .unwrap_or_else(|_| join_error(code::REBALANCE_IN_PROGRESS, &member_id))
}

pub async fn sync(broker: &Arc<Broker>, request: SyncGroupRequest) -> SyncGroupResponse {
    let group_id = request.group_id.0.to_string();
    let member_id = request.member_id.to_string();
    let error = |code| SyncGroupResponse::default().with_error_code(code);
    let rx = {
        let mut groups = broker.groups.lock();
        let Some(g) = groups.get_mut(&group_id) else {
            return error(code::UNKNOWN_MEMBER_ID);
        };
        if !g.members.contains_key(&member_id) {
            return error(code::UNKNOWN_MEMBER_ID);
        }
        if request.generation_id != g.generation {
            return error(code::ILLEGAL_GENERATION);
        }
        let protocol_type = g.protocol_type.clone().map(StrBytes::from_string);
        let protocol = g.protocol.clone().map(StrBytes::from_string);
        let ok = |assignment: Bytes| {
            SyncGroupResponse::default()
                .with_error_code(code::NONE)
                .with_protocol_type(protocol_type.clone())
                .with_protocol_name(protocol.clone())
                .with_assignment(assignment)
        };
        match g.state {
            State::Empty | State::PreparingRebalance => return error(code::REBALANCE_IN_PROGRESS),
            State::Stable => return ok(g.members[&member_id].assignment.clone()),
            State::CompletingRebalance => {}
        }
        let (tx, rx) = oneshot::channel();
        let now = Instant::now();
        if let Some(m) = g.members.get_mut(&member_id) {
            m.sync = Some(tx);
            m.last_seen = now;
        }
        if g.leader.as_deref() == Some(member_id.as_str()) {
            let mut given: HashMap<String, Bytes> = request
                .assignments
                .into_iter()
                .map(|a| (a.member_id.to_string(), a.assignment))
                .collect();
            g.state = State::Stable;
            for (id, m) in g.members.iter_mut() {
                m.assignment = given.remove(id).unwrap_or_default();
                m.last_seen = now;
                if let Some(tx) = m.sync.take() {
                    let _ = tx.send(ok(m.assignment.clone()));
                }
            }
        }
        rx
    };
    rx.await
        .unwrap_or_else(|_| error(code::REBALANCE_IN_PROGRESS))
}

pub fn heartbeat(broker: &Arc<Broker>, request: HeartbeatRequest) -> HeartbeatResponse {
    let response = |code| HeartbeatResponse::default().with_error_code(code);
    let mut groups = broker.groups.lock();
    let Some(g) = groups.get_mut(request.group_id.0.as_str()) else {
        return response(code::UNKNOWN_MEMBER_ID);
    };
    let Some(m) = g.members.get_mut(request.member_id.as_str()) else {
        return response(code::UNKNOWN_MEMBER_ID);
    };
    m.last_seen = Instant::now();
    if request.generation_id != g.generation {
        return response(code::ILLEGAL_GENERATION);
    }
    match g.state {
        State::PreparingRebalance => response(code::REBALANCE_IN_PROGRESS),
        _ => response(code::NONE),
    }
}

pub fn leave(broker: &Arc<Broker>, request: LeaveGroupRequest, version: i16) -> LeaveGroupResponse {
    let mut ids: Vec<String> = request
        .members
        .iter()
        .map(|m| m.member_id.to_string())
        .collect();
    if ids.is_empty() {
        ids.push(request.member_id.to_string());
    }
    let mut groups = broker.groups.lock();
    let Some(g) = groups.get_mut(request.group_id.0.as_str()) else {
        return LeaveGroupResponse::default().with_error_code(code::UNKNOWN_MEMBER_ID);
    };
    let mut results = Vec::new();
    let mut any_unknown = false;
    for id in ids {
        let known = g.members.contains_key(&id);
        any_unknown |= !known;
        if known {
            tracing::info!(
                group = request.group_id.0.as_str(),
                member = id,
                "kafka: member left"
            );
            g.remove_member(&id, &broker.config);
        }
        results.push(
            MemberResponse::default()
                .with_member_id(StrBytes::from_string(id))
                .with_error_code(if known {
                    code::NONE
                } else {
                    code::UNKNOWN_MEMBER_ID
                }),
        );
    }
    // v0-2 carry one member and report its error at the top level.
    let top = if request.members.is_empty() && any_unknown {
        code::UNKNOWN_MEMBER_ID
    } else {
        code::NONE
    };
    // Per-member results exist from v3 on.
    LeaveGroupResponse::default()
        .with_error_code(top)
        .with_members(if version >= 3 { results } else { Vec::new() })
}

pub fn list(broker: &Arc<Broker>, request: ListGroupsRequest) -> ListGroupsResponse {
    let mut listed: BTreeMap<String, (String, String)> = broker
        .log
        .groups()
        .into_iter()
        .map(|g| (g, ("consumer".to_string(), "Empty".to_string())))
        .collect();
    for (name, g) in broker.groups.lock().iter() {
        listed.insert(
            name.clone(),
            (
                g.protocol_type.clone().unwrap_or_default(),
                g.state.name().to_string(),
            ),
        );
    }
    let groups = listed
        .into_iter()
        .filter(|(_, (_, state))| {
            request.states_filter.is_empty()
                || request
                    .states_filter
                    .iter()
                    .any(|s| s.as_str().eq_ignore_ascii_case(state))
        })
        .map(|(name, (ptype, state))| {
            ListedGroup::default()
                .with_group_id(GroupId(StrBytes::from_string(name)))
                .with_protocol_type(StrBytes::from_string(ptype))
                .with_group_state(StrBytes::from_string(state))
                .with_group_type(StrBytes::from_static_str("classic"))
        })
        .collect();
    ListGroupsResponse::default()
        .with_error_code(code::NONE)
        .with_groups(groups)
}

pub fn describe(broker: &Arc<Broker>, request: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let groups = broker.groups.lock();
    let described = request
        .groups
        .into_iter()
        .map(|id| {
            let entry = DescribedGroup::default()
                .with_error_code(code::NONE)
                .with_group_id(id.clone());
            let Some(g) = groups.get(id.0.as_str()) else {
                // Kafka describes a group it does not know as Dead with no members.
                return entry.with_group_state(StrBytes::from_static_str("Dead"));
            };
            let protocol = g.protocol.clone().unwrap_or_default();
            let stable = g.state == State::Stable;
            entry
                .with_group_state(StrBytes::from_static_str(g.state.name()))
                .with_protocol_type(StrBytes::from_string(
                    g.protocol_type.clone().unwrap_or_default(),
                ))
                .with_protocol_data(StrBytes::from_string(protocol.clone()))
                .with_members(
                    g.members
                        .iter()
                        .map(|(mid, m)| {
                            let metadata = m
                                .protocols
                                .iter()
                                .find(|(n, _)| *n == protocol)
                                .map(|(_, md)| md.clone())
                                .unwrap_or_default();
                            DescribedGroupMember::default()
                                .with_member_id(StrBytes::from_string(mid.clone()))
                                .with_client_id(StrBytes::from_string(m.client_id.clone()))
                                .with_client_host(StrBytes::from_string(m.client_host.clone()))
                                .with_member_metadata(metadata)
                                .with_member_assignment(if stable {
                                    m.assignment.clone()
                                } else {
                                    Bytes::new()
                                })
                        })
                        .collect(),
                )
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(described)
}
