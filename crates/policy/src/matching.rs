//! Wildcards, ARNs and policy variables.
use crate::Context;
use std::borrow::Cow;

/// In a pattern, a `*` or `?` that a policy variable (`${*}`, `${?}`) made literal.
pub const LITERAL_STAR: u8 = 0x01;
pub const LITERAL_QUESTION: u8 = 0x02;

/// `*` matches any run of characters (including none), `?` any one character.
pub fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let literal = |a: u8| match a {
        LITERAL_STAR => b'*',
        LITERAL_QUESTION => b'?',
        a => a,
    };
    let eq = |a: u8, b: u8| {
        let a = literal(a);
        if ignore_case {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == b'?' || eq(p[pi], t[ti])) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            // Let the last star swallow one more character and retry.
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// ARN matching as IAM does it: each of the five leading colon-separated fields is matched on
/// its own, the resource part (which may hold colons and slashes) as a whole.
pub fn arn_like(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let mut p = pattern.splitn(6, ':');
    let mut a = arn.splitn(6, ':');
    loop {
        match (p.next(), a.next()) {
            (Some(ps), Some(as_)) => {
                if !glob(ps, as_, false) {
                    return false;
                }
            }
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Replaces `${key}` / `${key, 'default'}` / `${*}` `${?}` `${$}` with their values. In a
/// `pattern` (matched with wildcards), `${*}` and `${?}` stand for the characters themselves,
/// not wildcards (the policy variables page).
/// Returns `None` when a variable has no value and no default: the element then matches
/// nothing. A multi-valued key cannot be a variable.
pub fn substitute<'a>(text: &'a str, ctx: &Context, pattern: bool) -> Option<Cow<'a, str>> {
    if !text.contains("${") {
        return Some(Cow::Borrowed(text));
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Some(Cow::Owned(out));
        };
        let inner = &after[..end];
        match inner {
            "*" => out.push(if pattern { LITERAL_STAR as char } else { '*' }),
            "?" => out.push(if pattern { LITERAL_QUESTION as char } else { '?' }),
            "$" => out.push('$'),
            _ => {
                let (key, default) = match inner.split_once(',') {
                    Some((k, d)) => (k.trim(), Some(d.trim().trim_matches('\''))),
                    None => (inner.trim(), None),
                };
                // A value is text: in a pattern, its own `*` and `?` match only themselves.
                let push = |out: &mut String, v: &str| {
                    if pattern {
                        out.extend(v.chars().map(|c| match c {
                            '*' => LITERAL_STAR as char,
                            '?' => LITERAL_QUESTION as char,
                            c => c,
                        }))
                    } else {
                        out.push_str(v)
                    }
                };
                match (ctx.single(key), default) {
                    (Some(v), _) => push(&mut out, v),
                    (None, Some(d)) => push(&mut out, d),
                    (None, None) => return None,
                }
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(Cow::Owned(out))
}

/// The context keys a text reads as policy variables (`${aws:username}`), as written.
pub fn variables(text: &str) -> impl Iterator<Item = &str> {
    text.split("${").skip(1).filter_map(|after| {
        let inner = &after[..after.find('}')?];
        let key = inner.split_once(',').map_or(inner, |(k, _)| k).trim();
        (!matches!(key, "*" | "?" | "$") && !key.is_empty()).then_some(key)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("s3:get*", "s3:getobject", false));
        assert!(glob("s3:*object", "s3:getobject", false));
        assert!(!glob("s3:get*", "s3:putobject", false));
        assert!(glob("iam:?etuser", "iam:getuser", false));
        assert!(glob("*", "", false));
        assert!(glob("a*b*c", "axxbyyc", false));
        assert!(!glob("a*b*c", "axxbyy", false));
        assert!(glob("S3:GET*", "s3:getobject", true));
        assert!(!glob("abc", "abcd", false));
    }

    #[test]
    fn arns() {
        assert!(arn_like("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b:c"));
        assert!(!arn_like("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket2/a"));
        assert!(arn_like("arn:aws:s3:::*", "arn:aws:s3:::bucket/key"));
        assert!(arn_like("arn:aws:iam::*:user/*", "arn:aws:iam::000000000000:user/mary"));
        assert!(!arn_like("arn:aws:iam::*:user/*", "arn:aws:s3:::user/mary"));
        assert!(arn_like("arn:aws:redshift:*:*:cluster:lab", "arn:aws:redshift:us-east-1:000000000000:cluster:lab"));
        assert!(arn_like("*", "anything"));
    }

    #[test]
    fn variables() {
        let mut ctx = Context::default();
        ctx.set("aws:username", "mary");
        assert_eq!(
            substitute("arn:aws:s3:::b/home/${aws:username}/*", &ctx, true).unwrap(),
            "arn:aws:s3:::b/home/mary/*"
        );
        assert_eq!(substitute("${aws:userid, 'none'}-${*}", &ctx, false).unwrap(), "none-*");
        assert_eq!(substitute("${aws:userid}", &ctx, false), None);
        assert_eq!(substitute("${AWS:UserName}", &ctx, false).unwrap(), "mary");
        // In a pattern, ${*} is a star, not a wildcard.
        let literal = substitute("arn:aws:s3:::b/${*}.txt", &ctx, true).unwrap();
        assert!(arn_like(&literal, "arn:aws:s3:::b/*.txt"));
        assert!(!arn_like(&literal, "arn:aws:s3:::b/any.txt"));
        assert!(arn_like("arn:aws:s3:::b/*.txt", "arn:aws:s3:::b/any.txt"));
    }
}
