//! The agents the controller can reach: one command channel per registered node, and when
//! each was last heard from.

use crate::proto::AgentCommand;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tonic::Status;

/// Commands queued for one agent. Created at registration so launches decided before the
/// agent opens its stream are not lost; the stream takes the receiving end.
pub type CommandSender = mpsc::UnboundedSender<Result<AgentCommand, Status>>;
pub type CommandReceiver = mpsc::UnboundedReceiver<Result<AgentCommand, Status>>;

struct Link {
    sender: CommandSender,
    receiver: Option<CommandReceiver>,
    last_seen: Instant,
}

pub struct AgentRegistry {
    links: HashMap<String, Link>,
    /// Nodes never heard from since this controller started, with when it started.
    started: Instant,
}

/// What to do with a send that found no agent.
#[derive(Debug, PartialEq, Eq)]
pub enum SendOutcome {
    Queued,
    NoAgent,
}

impl AgentRegistry {
    pub fn new() -> Self {
        Self {
            links: HashMap::new(),
            started: Instant::now(),
        }
    }

    /// A fresh channel for `node`, replacing any earlier one (its queued commands are dropped:
    /// the registration that replaces it reconciles what runs there).
    pub fn register(&mut self, node: &str) {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.links.insert(
            node.to_owned(),
            Link {
                sender,
                receiver: Some(receiver),
                last_seen: Instant::now(),
            },
        );
    }

    /// The receiving end for the agent's command stream (once per registration).
    pub fn take_stream(&mut self, node: &str) -> Option<CommandReceiver> {
        let link = self.links.get_mut(node)?;
        link.last_seen = Instant::now();
        link.receiver.take()
    }

    /// Records a heartbeat; false when the node has no registration here.
    pub fn seen(&mut self, node: &str) -> bool {
        match self.links.get_mut(node) {
            Some(link) => {
                link.last_seen = Instant::now();
                true
            }
            None => false,
        }
    }

    pub fn send(&mut self, node: &str, command: AgentCommand) -> SendOutcome {
        match self.links.get(node) {
            Some(link) if link.sender.send(Ok(command)).is_ok() => SendOutcome::Queued,
            _ => SendOutcome::NoAgent,
        }
    }

    /// Nodes silent for longer than `timeout` (counting from controller start for nodes
    /// never heard from), among `nodes`. Their links are dropped.
    pub fn silent(
        &mut self,
        nodes: impl Iterator<Item = String>,
        timeout: Duration,
    ) -> Vec<String> {
        let now = Instant::now();
        let mut out = Vec::new();
        for node in nodes {
            let last = self.links.get(&node).map_or(self.started, |l| l.last_seen);
            if now.duration_since(last) > timeout {
                out.push(node);
            }
        }
        for node in &out {
            self.links.remove(node);
        }
        out
    }
}

impl Default for AgentRegistry {
    fn default() -> Self {
        Self::new()
    }
}
