//! Data API sessions: a statement run with `SessionKeepAliveSeconds` leaves its database
//! session open, and later statements naming its `SessionId` run in it (its temporary tables,
//! settings and open transaction included), one at a time, until it has been idle for its
//! keep-alive. Sessions are connections: they end with the process, as on AWS.
use super::{owner, ts, validation};
use nuage_core::{AwsResult, RequestContext};
use nuage_protocol::redshift_data as m;
use nuage_warehouse::session::Session;
use std::collections::HashMap;
use std::sync::Mutex;

/// Where a session runs and as whom.
#[derive(Clone)]
pub(super) struct Target {
    pub account: String,
    pub region: String,
    /// Empty for a serverless workgroup's session.
    pub cluster: String,
    pub workgroup: Option<String>,
    pub database: String,
    pub db_user: String,
}

struct Entry {
    owner: String,
    target: Target,
    /// The database session; away while a statement runs on it.
    session: Option<Session>,
    current: Option<String>,
    keep_alive_s: i32,
    created_ms: i64,
    updated_ms: i64,
    closed: bool,
}

impl Entry {
    fn expires_ms(&self) -> i64 {
        self.updated_ms + self.keep_alive_s as i64 * 1000
    }
}

#[derive(Default)]
pub(super) struct Sessions(Mutex<HashMap<String, Entry>>);

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Closes the sessions idle past their keep-alive (their database session ends), and
    /// forgets closed ones after a day.
    fn expire(map: &mut HashMap<String, Entry>, now: i64) {
        for e in map.values_mut() {
            if !e.closed && e.current.is_none() && e.expires_ms() <= now {
                e.closed = true;
                e.session = None;
                e.updated_ms = now;
            }
        }
        map.retain(|_, e| !(e.closed && now - e.updated_ms > 24 * 3600 * 1000));
    }

    /// Registers a new session, busy with `statement` until released.
    pub fn open(&self, ctx: &RequestContext, target: Target, keep_alive_s: i32, statement: &str) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let now = crate::now_ms();
        let entry = Entry {
            owner: owner(ctx),
            target,
            session: None,
            current: Some(statement.to_string()),
            keep_alive_s,
            created_ms: now,
            updated_ms: now,
            closed: false,
        };
        self.lock().insert(id.clone(), entry);
        id
    }

    /// Takes the caller's session `id` for `statement`: where it runs and its database session.
    pub fn take(
        &self,
        ctx: &RequestContext,
        id: &str,
        keep_alive_s: Option<i32>,
        statement: &str,
    ) -> AwsResult<(Target, Session)> {
        let now = crate::now_ms();
        let mut map = self.lock();
        Self::expire(&mut map, now);
        let e = map
            .get_mut(id)
            .filter(|e| e.owner == owner(ctx))
            .ok_or_else(|| validation(format!("Session {id} does not exist.")))?;
        if e.closed {
            return Err(validation(format!("Session {id} is closed: it was idle longer than its keep-alive.")));
        }
        if let Some(running) = &e.current {
            return Err(validation(format!(
                "Session {id} is busy running statement {running}: a session runs one statement at a time."
            )));
        }
        let session = e.session.take().ok_or_else(|| validation(format!("Session {id} is not available.")))?;
        e.current = Some(statement.to_string());
        e.updated_ms = now;
        if let Some(k) = keep_alive_s {
            e.keep_alive_s = k;
        }
        Ok((e.target.clone(), session))
    }

    /// Gives a session back once its statement has ended; its keep-alive starts again.
    pub fn release(&self, id: &str, session: Session) {
        let mut map = self.lock();
        if let Some(e) = map.get_mut(id) {
            e.session = Some(session);
            e.current = None;
            e.updated_ms = crate::now_ms();
        }
    }

    /// The caller's sessions, as ListSessions reports them.
    pub fn list(&self, ctx: &RequestContext, i: &m::ListSessionsRequest) -> Vec<m::SessionData> {
        let now = crate::now_ms();
        let me = owner(ctx);
        let mut map = self.lock();
        Self::expire(&mut map, now);
        let mut out: Vec<(i64, m::SessionData)> = map
            .iter()
            .filter(|(_, e)| e.owner == me && e.target.account == ctx.account_id().unwrap_or_default())
            .filter(|(_, e)| e.target.region == ctx.region)
            .filter(|(id, _)| i.session_id.as_deref().is_none_or(|s| s == id.as_str()))
            .filter(|(_, e)| i.cluster_identifier.as_deref().is_none_or(|c| c.eq_ignore_ascii_case(&e.target.cluster)))
            .filter(|(_, e)| i.workgroup_name.as_deref().is_none_or(|w| e.target.workgroup.as_deref() == Some(w)))
            .filter(|(_, e)| i.database.as_deref().is_none_or(|d| d == e.target.database))
            .map(|(id, e)| {
                let status = match (e.closed, &e.current) {
                    (true, _) => "CLOSED",
                    (false, Some(_)) => "BUSY",
                    (false, None) => "AVAILABLE",
                };
                let data = m::SessionData {
                    session_id: Some(id.clone()),
                    status: Some(status.into()),
                    created_at: Some(ts(e.created_ms)),
                    updated_at: Some(ts(e.updated_ms)),
                    database: Some(e.target.database.clone()),
                    db_user: Some(e.target.db_user.clone()),
                    cluster_identifier: (!e.target.cluster.is_empty()).then(|| e.target.cluster.clone()),
                    workgroup_name: e.target.workgroup.clone(),
                    session_alive_seconds: Some(e.keep_alive_s),
                    session_ttl: (!e.closed).then(|| ts(e.expires_ms())),
                    current_statement_id: e.current.clone(),
                };
                (e.created_ms, data)
            })
            .filter(|(_, d)| i.status.as_deref().is_none_or(|s| d.status.as_deref() == Some(s)))
            .collect();
        out.sort_by_key(|(created, _)| std::cmp::Reverse(*created));
        out.into_iter().map(|(_, d)| d).collect()
    }
}
