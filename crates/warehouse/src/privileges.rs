//! Database users, groups and privileges: CREATE/ALTER/DROP USER, CREATE/ALTER/DROP GROUP,
//! GRANT and REVOKE (read from tokens: Redshift's forms differ from what sqlparser parses),
//! and the checks statements pass before they touch a table.
use crate::engine::password_md5;
use crate::error::{SqlError, SqlResult};
use crate::state::{DbState, Privilege, UserMeta};
use datafusion::sql::sqlparser::ast::{Statement, Visit, Visitor};
use datafusion::sql::sqlparser::dialect::RedshiftSqlDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
use std::collections::BTreeSet;
use std::ops::ControlFlow;

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Tables(Vec<(String, String)>),
    AllTablesIn(String),
    Schemas(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    CreateUser {
        name: String,
        password: Option<String>,
        superuser: bool,
        createdb: bool,
        groups: Vec<String>,
        valid_until: Option<i64>,
        connection_limit: Option<u32>,
        syslog_unrestricted: bool,
    },
    AlterUser {
        name: String,
        password: Option<Option<String>>,
        superuser: Option<bool>,
        createdb: Option<bool>,
        rename: Option<String>,
        valid_until: Option<i64>,
        connection_limit: Option<Option<u32>>,
        syslog_unrestricted: Option<bool>,
    },
    DropUser {
        names: Vec<String>,
        if_exists: bool,
    },
    CreateGroup {
        name: String,
        users: Vec<String>,
    },
    AlterGroup {
        name: String,
        add: bool,
        users: Vec<String>,
    },
    DropGroup {
        name: String,
    },
    Grant {
        privileges: Vec<Privilege>,
        target: Target,
        grantees: Vec<String>,
        revoke: bool,
    },
}

/// Words and literals of a statement, upper-cased words kept beside their folded form.
pub(crate) struct Words {
    items: Vec<(String, String)>,
    pub(crate) pos: usize,
}

impl Words {
    pub(crate) fn new(sql: &str) -> Option<Words> {
        let tokens = Tokenizer::new(&RedshiftSqlDialect {}, sql).tokenize().ok()?;
        let mut items = Vec::new();
        for t in tokens {
            match t {
                Token::Word(w) => {
                    let folded = if w.quote_style.is_some() { w.value.clone() } else { w.value.to_ascii_lowercase() };
                    items.push((w.value.to_ascii_uppercase(), folded));
                }
                Token::SingleQuotedString(s) => items.push(("'".into(), s)),
                Token::Number(n, _) => items.push(("#".into(), n)),
                Token::Comma => items.push((",".into(), ",".into())),
                Token::Period => items.push((".".into(), ".".into())),
                Token::Whitespace(_) | Token::SemiColon => {}
                other => items.push((other.to_string(), other.to_string())),
            }
        }
        Some(Words { items, pos: 0 })
    }

    pub(crate) fn peek(&self) -> Option<&str> {
        self.items.get(self.pos).map(|(u, _)| u.as_str())
    }

    pub(crate) fn is(&mut self, w: &str) -> bool {
        if self.peek() == Some(w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn next(&mut self) -> Option<(String, String)> {
        let v = self.items.get(self.pos).cloned();
        self.pos += 1;
        v
    }

    pub(crate) fn name(&mut self) -> SqlResult<String> {
        match self.next() {
            Some((u, folded)) if u != "'" && u != "," => Ok(folded),
            Some((_, v)) => Err(SqlError::syntax(&v)),
            None => Err(SqlError::new("42601", "syntax error at end of input")),
        }
    }

    pub(crate) fn literal(&mut self) -> SqlResult<String> {
        match self.next() {
            Some((u, v)) if u == "'" => Ok(v),
            Some((_, v)) => Err(SqlError::syntax(&v)),
            None => Err(SqlError::new("42601", "syntax error at end of input")),
        }
    }

    /// A statement that begins with `keyword`, read by `read` (given the words after the
    /// keyword and the statement's text); `None` when `sql` begins otherwise.
    pub(crate) fn statement<T>(
        sql: &str,
        keyword: &str,
        read: impl FnOnce(&mut Words, &str) -> SqlResult<T>,
    ) -> Option<SqlResult<T>> {
        let mut w = Words::new(sql)?;
        if !w.is(keyword) {
            return None;
        }
        Some(read(&mut w, sql.trim()))
    }

    /// The next word must be `word`; else a syntax error at what is there.
    pub(crate) fn expect(&mut self, word: &str) -> SqlResult<()> {
        if self.is(word) {
            return Ok(());
        }
        Err(SqlError::syntax(&self.next().map(|(_, v)| v).unwrap_or_else(|| "end of input".into())))
    }

    /// `name, name, ...)`, after an opening parenthesis.
    pub(crate) fn names_to_paren(&mut self) -> SqlResult<Vec<String>> {
        let mut out = Vec::new();
        loop {
            out.push(self.name()?);
            if self.is(")") {
                return Ok(out);
            }
            self.expect(",")?;
        }
    }

    fn names(&mut self) -> SqlResult<Vec<String>> {
        let mut out = vec![self.name()?];
        while self.is(",") {
            out.push(self.name()?);
        }
        Ok(out)
    }

    fn done(&self) -> SqlResult<()> {
        match self.items.get(self.pos) {
            None => Ok(()),
            Some((_, v)) => Err(SqlError::syntax(v)),
        }
    }
}

/// Redshift's password rules: 8 to 64 characters, an upper-case letter, a lower-case letter
/// and a digit (an `md5...` hash is taken as it is).
pub fn check_password(p: &str) -> SqlResult<()> {
    if p.starts_with("md5") && p.len() == 35 {
        return Ok(());
    }
    let ok = (8..=64).contains(&p.chars().count())
        && p.chars().any(|c| c.is_ascii_uppercase())
        && p.chars().any(|c| c.is_ascii_lowercase())
        && p.chars().any(|c| c.is_ascii_digit())
        && !p.chars().any(|c| matches!(c, '\'' | '"' | '\\' | '/' | '@' | ' '));
    if !ok {
        return Err(SqlError::new(
            "22023",
            "Password must contain 8 to 64 characters, at least one uppercase letter, one lowercase letter, and one number",
        ));
    }
    Ok(())
}

fn valid_until(s: &str) -> SqlResult<i64> {
    if s.eq_ignore_ascii_case("infinity") {
        return Ok(i64::MAX);
    }
    for fmt in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, fmt) {
            return Ok(t.and_utc().timestamp());
        }
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc().timestamp())
        .map_err(|_| SqlError::new("22007", format!("invalid input syntax for type timestamp: \"{s}\"")))
}

fn privileges(w: &mut Words) -> SqlResult<Vec<Privilege>> {
    let mut out = Vec::new();
    loop {
        let word = w.peek().unwrap_or_default().to_string();
        if word == "ALL" {
            w.pos += 1;
            w.is("PRIVILEGES");
            return Ok(vec![
                Privilege::Select,
                Privilege::Insert,
                Privilege::Update,
                Privilege::Delete,
                Privilege::References,
                Privilege::Usage,
                Privilege::Create,
            ]);
        }
        let p = Privilege::parse(&word).ok_or_else(|| SqlError::syntax(&word.to_lowercase()))?;
        w.pos += 1;
        out.push(p);
        if !w.is(",") {
            return Ok(out);
        }
    }
}

impl Command {
    /// Reads a user-management statement; None when `sql` is not one.
    pub fn parse(sql: &str) -> Option<SqlResult<Command>> {
        let mut w = Words::new(sql)?;
        let first = w.peek()?.to_string();
        let second = w.items.get(1).map(|(u, _)| u.clone()).unwrap_or_default();
        let kind = match (first.as_str(), second.as_str()) {
            ("CREATE" | "ALTER" | "DROP", "USER" | "GROUP") => format!("{first} {second}"),
            ("GRANT" | "REVOKE", _) => first.clone(),
            _ => return None,
        };
        Some(Self::parse_kind(&kind, &mut w))
    }

    fn parse_kind(kind: &str, w: &mut Words) -> SqlResult<Command> {
        w.pos = if kind.contains(' ') { 2 } else { 1 };
        let cmd = match kind {
            "CREATE USER" | "ALTER USER" => {
                let name = w.name()?;
                let create = kind == "CREATE USER";
                let mut password: Option<Option<String>> = None;
                let (mut superuser, mut createdb, mut rename, mut until) = (None, None, None, None);
                let mut groups = Vec::new();
                let (mut connection_limit, mut syslog_unrestricted) = (None, None);
                w.is("WITH");
                while let Some(word) = w.peek().map(|s| s.to_string()) {
                    w.pos += 1;
                    match word.as_str() {
                        "PASSWORD" => {
                            if w.is("DISABLE") {
                                password = Some(None);
                            } else {
                                let p = w.literal()?;
                                check_password(&p)?;
                                password = Some(Some(p));
                            }
                        }
                        "CREATEUSER" => superuser = Some(true),
                        "NOCREATEUSER" => superuser = Some(false),
                        "CREATEDB" => createdb = Some(true),
                        "NOCREATEDB" => createdb = Some(false),
                        "IN" if create => {
                            if !w.is("GROUP") {
                                return Err(SqlError::syntax("in"));
                            }
                            groups = w.names()?;
                        }
                        "VALID" => {
                            if !w.is("UNTIL") {
                                return Err(SqlError::syntax("valid"));
                            }
                            until = Some(valid_until(&w.literal()?)?);
                        }
                        "CONNECTION" => {
                            w.expect("LIMIT")?;
                            connection_limit = Some(if w.is("UNLIMITED") {
                                None
                            } else {
                                let (_, value) = w.next().ok_or_else(|| SqlError::syntax("limit"))?;
                                Some(value.parse::<u32>().map_err(|_| SqlError::syntax(&value))?)
                            });
                        }
                        "SYSLOG" => {
                            w.expect("ACCESS")?;
                            syslog_unrestricted = Some(if w.is("UNRESTRICTED") {
                                true
                            } else {
                                w.expect("RESTRICTED")?;
                                false
                            });
                        }
                        "RENAME" if !create => {
                            w.is("TO");
                            rename = Some(w.name()?);
                        }
                        other => return Err(SqlError::syntax(&other.to_lowercase())),
                    }
                }
                if create {
                    let Some(password) = password else {
                        return Err(SqlError::new("42601", "CREATE USER requires PASSWORD or PASSWORD DISABLE"));
                    };
                    Command::CreateUser {
                        name,
                        password,
                        superuser: superuser.unwrap_or(false),
                        createdb: createdb.unwrap_or(false),
                        groups,
                        valid_until: until,
                        connection_limit: connection_limit.flatten(),
                        syslog_unrestricted: syslog_unrestricted.unwrap_or(false),
                    }
                } else {
                    Command::AlterUser {
                        name,
                        password,
                        superuser,
                        createdb,
                        rename,
                        valid_until: until,
                        connection_limit,
                        syslog_unrestricted,
                    }
                }
            }
            "DROP USER" => {
                let if_exists = w.is("IF") && w.is("EXISTS");
                Command::DropUser { names: w.names()?, if_exists }
            }
            "CREATE GROUP" => {
                let name = w.name()?;
                w.is("WITH");
                let users = if w.is("USER") { w.names()? } else { Vec::new() };
                Command::CreateGroup { name, users }
            }
            "ALTER GROUP" => {
                let name = w.name()?;
                let add = if w.is("ADD") {
                    true
                } else if w.is("DROP") {
                    false
                } else {
                    return Err(SqlError::syntax(w.peek().unwrap_or("end of input")));
                };
                if !w.is("USER") {
                    return Err(SqlError::syntax(w.peek().unwrap_or("end of input")));
                }
                Command::AlterGroup { name, add, users: w.names()? }
            }
            "DROP GROUP" => Command::DropGroup { name: w.name()? },
            _ => {
                let revoke = kind == "REVOKE";
                let privileges = privileges(w)?;
                if !w.is("ON") {
                    return Err(SqlError::syntax(w.peek().unwrap_or("end of input")));
                }
                let target = if w.is("SCHEMA") {
                    Target::Schemas(w.names()?)
                } else if w.is("ALL") {
                    if !(w.is("TABLES") && w.is("IN") && w.is("SCHEMA")) {
                        return Err(SqlError::syntax("all"));
                    }
                    Target::AllTablesIn(w.name()?)
                } else {
                    w.is("TABLE");
                    let mut tables = Vec::new();
                    loop {
                        let a = w.name()?;
                        if w.is(".") {
                            tables.push((a, w.name()?));
                        } else {
                            tables.push(("public".into(), a));
                        }
                        if !w.is(",") {
                            break;
                        }
                    }
                    Target::Tables(tables)
                };
                if !w.is(if revoke { "FROM" } else { "TO" }) {
                    return Err(SqlError::syntax(w.peek().unwrap_or("end of input")));
                }
                let mut grantees = Vec::new();
                loop {
                    if w.is("GROUP") {
                        grantees.push(format!("group:{}", w.name()?));
                    } else if w.is("PUBLIC") {
                        grantees.push("public".into());
                    } else {
                        grantees.push(w.name()?);
                    }
                    if !w.is(",") {
                        break;
                    }
                }
                Command::Grant { privileges, target, grantees, revoke }
            }
        };
        w.done()?;
        Ok(cmd)
    }

    pub fn tag(&self) -> String {
        match self {
            Command::CreateUser { .. } => "CREATE USER",
            Command::AlterUser { .. } => "ALTER USER",
            Command::DropUser { .. } => "DROP USER",
            Command::CreateGroup { .. } => "CREATE GROUP",
            Command::AlterGroup { .. } => "ALTER GROUP",
            Command::DropGroup { .. } => "DROP GROUP",
            Command::Grant { revoke: false, .. } => "GRANT",
            Command::Grant { revoke: true, .. } => "REVOKE",
        }
        .into()
    }

    /// Applies the command to `st` on behalf of `by`.
    pub fn apply(self, st: &mut DbState, by: &str) -> SqlResult<()> {
        let superuser = is_superuser(st, by);
        let c = &mut st.catalog;
        match self {
            Command::CreateUser {
                name,
                password,
                superuser: su,
                createdb,
                groups,
                valid_until,
                connection_limit,
                syslog_unrestricted,
            } => {
                if !superuser {
                    return Err(SqlError::new("42501", "permission denied to create user"));
                }
                if c.users.contains_key(&name) {
                    return Err(SqlError::new("42710", format!("user \"{name}\" already exists")));
                }
                for g in &groups {
                    if !c.groups.contains_key(g) {
                        return Err(SqlError::new("42704", format!("group \"{g}\" does not exist")));
                    }
                }
                let id = c.users.values().map(|u| u.id).max().unwrap_or(100) + 1;
                let md5 = password.map(|p| {
                    if p.starts_with("md5") && p.len() == 35 {
                        p[3..].to_string()
                    } else {
                        password_md5(&name, &p)
                    }
                });
                c.users.insert(
                    name.clone(),
                    UserMeta {
                        id,
                        password_md5: md5,
                        superuser: su,
                        createdb,
                        valid_until,
                        connection_limit,
                        syslog_unrestricted,
                    },
                );
                for g in groups {
                    c.groups.entry(g).or_default().insert(name.clone());
                }
            }
            Command::AlterUser {
                name,
                password,
                superuser: su,
                createdb,
                rename,
                valid_until,
                connection_limit,
                syslog_unrestricted,
            } => {
                let privileged =
                    su.is_some() || createdb.is_some() || rename.is_some() || syslog_unrestricted.is_some();
                if !superuser && (name != by || privileged || connection_limit.is_some()) {
                    return Err(SqlError::new("42501", "permission denied"));
                }
                let Some(u) = c.users.get_mut(&name) else {
                    return Err(SqlError::new("42704", format!("user \"{name}\" does not exist")));
                };
                if let Some(p) = password {
                    u.password_md5 = p.map(|p| {
                        if p.starts_with("md5") && p.len() == 35 {
                            p[3..].to_string()
                        } else {
                            password_md5(&name, &p)
                        }
                    });
                }
                if let Some(s) = su {
                    u.superuser = s;
                }
                if let Some(d) = createdb {
                    u.createdb = d;
                }
                if let Some(v) = valid_until {
                    u.valid_until = Some(v);
                }
                if let Some(l) = connection_limit {
                    u.connection_limit = l;
                }
                if let Some(s) = syslog_unrestricted {
                    u.syslog_unrestricted = s;
                }
                if let Some(new) = rename {
                    if c.users.contains_key(&new) {
                        return Err(SqlError::new("42710", format!("user \"{new}\" already exists")));
                    }
                    let mut u = c.users.remove(&name).expect("present");
                    // A renamed user's MD5 password no longer matches its name; PostgreSQL clears it too.
                    u.password_md5 = None;
                    c.users.insert(new.clone(), u);
                    for members in c.groups.values_mut() {
                        if members.remove(&name) {
                            members.insert(new.clone());
                        }
                    }
                }
            }
            Command::DropUser { names, if_exists } => {
                if !superuser {
                    return Err(SqlError::new("42501", "permission denied to drop user"));
                }
                for n in names {
                    if n == by {
                        return Err(SqlError::new("55006", "current user cannot be dropped"));
                    }
                    let owns = c.schemas.values().any(|s| s.owner == n || s.tables.values().any(|t| t.owner == n));
                    if owns {
                        return Err(SqlError::new(
                            "2BP01",
                            format!("user \"{n}\" cannot be dropped because the user owns some object"),
                        ));
                    }
                    if c.users.remove(&n).is_none() && !if_exists {
                        return Err(SqlError::new("42704", format!("user \"{n}\" does not exist")));
                    }
                    for members in c.groups.values_mut() {
                        members.remove(&n);
                    }
                }
            }
            Command::CreateGroup { name, users } => {
                if !superuser {
                    return Err(SqlError::new("42501", "permission denied to create group"));
                }
                if c.groups.contains_key(&name) {
                    return Err(SqlError::new("42710", format!("group \"{name}\" already exists")));
                }
                check_users(c, &users)?;
                c.groups.insert(name, users.into_iter().collect());
            }
            Command::AlterGroup { name, add, users } => {
                if !superuser {
                    return Err(SqlError::new("42501", "permission denied"));
                }
                check_users(c, &users)?;
                let Some(members) = c.groups.get_mut(&name) else {
                    return Err(SqlError::new("42704", format!("group \"{name}\" does not exist")));
                };
                for u in users {
                    if add {
                        members.insert(u);
                    } else {
                        members.remove(&u);
                    }
                }
            }
            Command::DropGroup { name } => {
                if !superuser {
                    return Err(SqlError::new("42501", "permission denied"));
                }
                if c.groups.remove(&name).is_none() {
                    return Err(SqlError::new("42704", format!("group \"{name}\" does not exist")));
                }
            }
            Command::Grant { privileges, target, grantees, revoke } => {
                for g in &grantees {
                    if let Some(group) = g.strip_prefix("group:") {
                        if !c.groups.contains_key(group) {
                            return Err(SqlError::new("42704", format!("group \"{group}\" does not exist")));
                        }
                    } else if g != "public" && !c.users.contains_key(g) {
                        return Err(SqlError::new("42704", format!("user \"{g}\" does not exist")));
                    }
                }
                let edit = |grants: &mut std::collections::BTreeMap<String, BTreeSet<Privilege>>,
                            allowed: &[Privilege]| {
                    for g in &grantees {
                        let set = grants.entry(g.clone()).or_default();
                        for p in privileges.iter().filter(|p| allowed.contains(p)) {
                            if revoke {
                                set.remove(p);
                            } else {
                                set.insert(p.clone());
                            }
                        }
                    }
                };
                const TABLE: &[Privilege] = &[
                    Privilege::Select,
                    Privilege::Insert,
                    Privilege::Update,
                    Privilege::Delete,
                    Privilege::References,
                ];
                const SCHEMA: &[Privilege] = &[Privilege::Usage, Privilege::Create];
                match target {
                    Target::Schemas(names) => {
                        for n in names {
                            let Some(s) = c.schemas.get_mut(&n) else {
                                return Err(SqlError::new("3F000", format!("schema \"{n}\" does not exist")));
                            };
                            if !superuser && s.owner != by {
                                return Err(SqlError::permission("schema", &n));
                            }
                            edit(&mut s.grants, SCHEMA);
                        }
                    }
                    Target::AllTablesIn(n) => {
                        let Some(s) = c.schemas.get_mut(&n) else {
                            return Err(SqlError::new("3F000", format!("schema \"{n}\" does not exist")));
                        };
                        for (tn, t) in s.tables.iter_mut() {
                            if !superuser && t.owner != by {
                                return Err(SqlError::permission("relation", tn));
                            }
                            edit(&mut t.grants, TABLE);
                        }
                        for v in s.views.values_mut() {
                            edit(&mut v.grants, TABLE);
                        }
                    }
                    Target::Tables(tables) => {
                        for (sn, tn) in tables {
                            let Some(s) = c.schemas.get_mut(&sn) else {
                                return Err(SqlError::relation_missing(&tn));
                            };
                            if let Some(t) = s.tables.get_mut(&tn) {
                                if !superuser && t.owner != by {
                                    return Err(SqlError::permission("relation", &tn));
                                }
                                edit(&mut t.grants, TABLE);
                            } else if let Some(v) = s.views.get_mut(&tn) {
                                if !superuser && v.owner != by {
                                    return Err(SqlError::permission("relation", &tn));
                                }
                                edit(&mut v.grants, TABLE);
                            } else {
                                return Err(SqlError::relation_missing(&tn));
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn check_users(c: &crate::state::Catalog, users: &[String]) -> SqlResult<()> {
    for u in users {
        if !c.users.contains_key(u) {
            return Err(SqlError::new("42704", format!("user \"{u}\" does not exist")));
        }
    }
    Ok(())
}

pub fn is_superuser(st: &DbState, user: &str) -> bool {
    st.catalog.users.get(user).is_some_and(|u| u.superuser)
}

/// Whether `grants` give `p` to `user` directly, through one of its groups, or to PUBLIC.
fn granted(
    st: &DbState,
    grants: &std::collections::BTreeMap<String, BTreeSet<Privilege>>,
    user: &str,
    p: &Privilege,
) -> bool {
    let has = |k: &str| grants.get(k).is_some_and(|s| s.contains(p));
    has(user) || has("public") || st.catalog.groups_of(user).iter().any(|g| has(&format!("group:{g}")))
}

fn schema_allows(st: &DbState, user: &str, schema: &str, p: Privilege) -> bool {
    if is_superuser(st, user) || schema.starts_with("pg_temp_") {
        return true;
    }
    let Some(s) = st.catalog.schemas.get(schema) else { return true };
    // PUBLIC holds USAGE and CREATE on schema public unless revoked, as in Redshift.
    s.owner == user || schema == "public" || granted(st, &s.grants, user, &p)
}

pub fn require_schema(st: &DbState, user: &str, schema: &str, p: Privilege) -> SqlResult<()> {
    if schema_allows(st, user, schema, p) {
        Ok(())
    } else {
        Err(SqlError::permission("schema", schema))
    }
}

pub fn require_schema_owner(st: &DbState, user: &str, schema: &str) -> SqlResult<()> {
    let owner = st.catalog.schemas.get(schema).map(|s| s.owner.as_str()) == Some(user);
    if owner || is_superuser(st, user) {
        Ok(())
    } else {
        Err(SqlError::new("42501", format!("must be owner of schema {schema}")))
    }
}

pub fn require_superuser_or_createdb(st: &DbState, user: &str, what: &str) -> SqlResult<()> {
    if st.catalog.users.get(user).is_some_and(|u| u.superuser || u.createdb) {
        Ok(())
    } else {
        Err(SqlError::new("42501", format!("permission denied to {what}")))
    }
}

pub fn require_table(st: &DbState, user: &str, schema: &str, table: &str, p: Privilege) -> SqlResult<()> {
    if is_superuser(st, user) {
        return Ok(());
    }
    require_schema(st, user, schema, Privilege::Usage)?;
    let Some(s) = st.catalog.schemas.get(schema) else { return Ok(()) };
    let ok = match (s.tables.get(table), s.views.get(table)) {
        (Some(t), _) => t.owner == user || granted(st, &t.grants, user, &p),
        (None, Some(v)) => v.owner == user || granted(st, &v.grants, user, &p),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(SqlError::permission("relation", table))
    }
}

pub fn require_owner(st: &DbState, user: &str, schema: &str, table: &str) -> SqlResult<()> {
    if is_superuser(st, user) || st.table(schema, table).is_some_and(|t| t.owner == user) {
        Ok(())
    } else {
        Err(SqlError::new("42501", format!("must be owner of relation {table}")))
    }
}

/// Every table or view a query names must grant SELECT to the caller.
pub fn check_reads(st: &DbState, user: &str, statement: &Statement) -> SqlResult<()> {
    if is_superuser(st, user) {
        return Ok(());
    }
    struct Relations(Vec<(Option<String>, String)>);
    impl Visitor for Relations {
        type Break = ();
        fn pre_visit_relation(&mut self, r: &datafusion::sql::sqlparser::ast::ObjectName) -> ControlFlow<()> {
            self.0.push(crate::dialect::object_name(r));
            ControlFlow::Continue(())
        }
    }
    let mut rel = Relations(Vec::new());
    let _ = statement.visit(&mut rel);
    for (schema, name) in rel.0 {
        let schema = schema.unwrap_or_else(|| "public".into());
        if schema == "pg_catalog" || schema == "information_schema" {
            continue;
        }
        require_table(st, user, &schema, &name, Privilege::Select)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_user_and_grant_statements() {
        let c =
            Command::parse("create user mary with password 'Abcd1234' createdb in group analysts").unwrap().unwrap();
        assert!(matches!(c, Command::CreateUser { ref name, createdb: true, .. } if name == "mary"));
        let g = Command::parse("grant select, insert on table public.sales, event to group analysts, bob")
            .unwrap()
            .unwrap();
        assert_eq!(
            g,
            Command::Grant {
                privileges: vec![Privilege::Select, Privilege::Insert],
                target: Target::Tables(vec![("public".into(), "sales".into()), ("public".into(), "event".into())]),
                grantees: vec!["group:analysts".into(), "bob".into()],
                revoke: false,
            }
        );
        assert!(Command::parse("select 1").is_none());
        assert_eq!(Command::parse("create user x password 'short'").unwrap().unwrap_err().code, "22023");
    }
}
