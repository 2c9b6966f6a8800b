//! ShownOnce: a token issued in the console is shown exactly once. The console's POST
//! that issues it hands the token here and redirects; the GET that follows takes it
//! (POST/redirect/GET, so a reload re-sends nothing and issues nothing). Taking
//! removes it, so a reload finds nothing. Only memory holds it, for a few minutes at
//! most, bound to the console session that issued it: never a row, a log line or a
//! file. A restart loses what was not yet shown; the owner then issues another.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use actix::prelude::*;
use uuid::Uuid;

use crate::auth::AgentToken;

/// How long an issued token waits to be shown.
pub const HOLD_FOR: Duration = Duration::from_secs(300);

pub struct ShownOnce {
    /// (console session id, token id) → the token and when it was handed over.
    held: HashMap<(Uuid, Uuid), (AgentToken, Instant)>,
}

impl ShownOnce {
    pub fn start_supervised() -> Addr<Self> {
        Supervisor::start(|_| ShownOnce { held: HashMap::new() })
    }
}

impl Actor for ShownOnce {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(Duration::from_secs(30), |act, _| {
            act.held.retain(|_, (_, at)| at.elapsed() < HOLD_FOR);
        });
    }
}

/// A restart forgets every held token (never shown twice, at worst not at all).
impl Supervised for ShownOnce {
    fn restarting(&mut self, _: &mut Self::Context) {
        self.held.clear();
    }
}

/// Keep `token` for one display to `session`.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Hold {
    pub session: Uuid,
    pub token: AgentToken,
}

impl Handler<Hold> for ShownOnce {
    type Result = ();

    fn handle(&mut self, m: Hold, _: &mut Self::Context) {
        self.held.insert((m.session, m.token.id()), (m.token, Instant::now()));
    }
}

/// The token `token_id` held for `session`, removed as it is answered.
#[derive(Message)]
#[rtype(result = "Option<AgentToken>")]
pub struct Take {
    pub session: Uuid,
    pub token_id: Uuid,
}

impl Handler<Take> for ShownOnce {
    type Result = Option<AgentToken>;

    fn handle(&mut self, m: Take, _: &mut Self::Context) -> Option<AgentToken> {
        let (token, at) = self.held.remove(&(m.session, m.token_id))?;
        (at.elapsed() < HOLD_FOR).then_some(token)
    }
}
