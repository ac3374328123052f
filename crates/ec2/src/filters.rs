//! EC2's `Filter.N` on Describe operations: each resource states its facts (filter name and
//! value, a name may repeat), tags give `tag:<key>`, `tag-key` and `tag-value`; a resource is
//! kept when every filter matches one of its facts, values taking `*` and `?` wildcards.
//! A filter name the operation does not know is refused, as EC2 refuses it.
use super::*;

#[derive(Default)]
pub(crate) struct Facts(Vec<(String, String)>);

impl Facts {
    pub(crate) fn tagged(tags: &[(String, String)]) -> Facts {
        let mut f = Facts::default();
        for (k, v) in tags {
            f.0.push((format!("tag:{k}"), v.clone()));
            f.0.push(("tag-key".into(), k.clone()));
            f.0.push(("tag-value".into(), v.clone()));
        }
        f
    }

    pub(crate) fn with(mut self, name: &str, value: impl ToString) -> Facts {
        self.0.push((name.to_string(), value.to_string()));
        self
    }

    pub(crate) fn add(&mut self, name: &str, value: impl ToString) {
        self.0.push((name.to_string(), value.to_string()));
    }

    pub(crate) fn keep(&self, filters: &[m::Filter]) -> bool {
        filters.iter().all(|f| {
            let name = f.name.as_deref().unwrap_or_default();
            self.0
                .iter()
                .filter(|(n, _)| n == name)
                .any(|(_, v)| f.values.iter().flatten().any(|want| nuage_policy::matching::glob(want, v, false)))
        })
    }
}

/// Refuses a filter whose name the operation does not know (tag filters are always known).
pub(crate) fn check(filters: &[m::Filter], known: &[&str]) -> AwsResult<()> {
    for f in filters {
        let n = f.name.as_deref().unwrap_or_default();
        if !(known.contains(&n) || n == "tag-key" || n == "tag-value" || n.starts_with("tag:")) {
            return Err(Ec2Error::InvalidParameterValue.msg(format!("The filter '{n}' is invalid")));
        }
    }
    Ok(())
}

/// One page of `items` (in id order) after the id a NextToken names, and the next token.
pub(crate) fn page<T>(
    items: Vec<T>,
    id: impl Fn(&T) -> &str,
    max: Option<i32>,
    token: Option<&str>,
) -> AwsResult<(Vec<T>, Option<String>)> {
    let start = match token {
        Some(t) => {
            let after = String::from_utf8(hex::decode(t).map_err(|_| bad_token(t))?).map_err(|_| bad_token(t))?;
            items.iter().position(|x| id(x) > after.as_str()).unwrap_or(items.len())
        }
        None => 0,
    };
    let max = max.map(|m| m.max(1) as usize).unwrap_or(usize::MAX);
    let mut rest: Vec<T> = items.into_iter().skip(start).collect();
    let next = (rest.len() > max).then(|| hex::encode(id(&rest[max - 1])));
    rest.truncate(max);
    Ok((rest, next))
}

fn bad_token(t: &str) -> nuage_core::AwsError {
    Ec2Error::InvalidPaginationToken.msg(format!("Invalid pagination token: {t}"))
}

/// Tags as EC2 returns them: absent when there are none.
pub(crate) fn tags_out(tags: &[(String, String)]) -> Option<Vec<m::Tag>> {
    (!tags.is_empty())
        .then(|| tags.iter().map(|(k, v)| m::Tag { key: Some(k.clone()), value: Some(v.clone()) }).collect())
}
