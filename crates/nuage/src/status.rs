//! `nuage status`: what a running nuage holds, read from its `/_nuage/status` endpoint.
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use serde_json::Value;

#[derive(clap::Args, Clone)]
pub struct StatusArgs {
    /// The running nuage's endpoint.
    #[arg(long, env = "AWS_ENDPOINT_URL", default_value = "http://127.0.0.1:4566")]
    endpoint: String,
    /// Print the status as JSON.
    #[arg(long)]
    json: bool,
    /// Print nothing: the exit status says whether nuage answers (a container's healthcheck).
    #[arg(long, short)]
    quiet: bool,
}

async fn fetch(endpoint: &str) -> Result<Value, String> {
    let uri: http::Uri = format!("{}/_nuage/status", endpoint.trim_end_matches('/'))
        .parse()
        .map_err(|e| format!("invalid endpoint {endpoint}: {e}"))?;
    let client = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    let resp = tokio::time::timeout(std::time::Duration::from_secs(10), client.get(uri))
        .await
        .map_err(|_| format!("nuage at {endpoint} did not answer within 10 s"))?
        .map_err(|e| format!("no nuage answers at {endpoint}: {e}"))?;
    let status = resp.status();
    let body = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    if !status.is_success() {
        return Err(format!("{endpoint} answered {status}: is it nuage?"));
    }
    serde_json::from_slice(&body).map_err(|e| format!("{endpoint} answered something else than nuage's status: {e}"))
}

fn human_bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < units.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

fn human_duration(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {}s", s / 60, s % 60),
        s if s < 86400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        s => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

/// The status as a person reads it.
pub fn render(endpoint: &str, v: &Value) -> String {
    let mut out = format!(
        "nuage {} at {endpoint}, up {}\nstate: {} ({})\n",
        v["version"].as_str().unwrap_or("?"),
        human_duration(v["uptime_seconds"].as_u64().unwrap_or(0)),
        v["data_dir"].as_str().unwrap_or("?"),
        human_bytes(v["data_bytes"].as_u64().unwrap_or(0)),
    );
    if let Some(services) = v["services"].as_object() {
        for (name, counts) in services {
            let parts: Vec<String> = counts
                .as_object()
                .into_iter()
                .flatten()
                .map(|(what, n)| format!("{} {what}", n.as_u64().unwrap_or(0)))
                .collect();
            let line = if parts.is_empty() { "running".to_string() } else { parts.join(", ") };
            out.push_str(&format!("  {name:<16}{line}\n"));
        }
    }
    out
}

pub fn run(args: StatusArgs) -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("nuage status: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(fetch(&args.endpoint)) {
        Ok(_) if args.quiet => std::process::ExitCode::SUCCESS,
        Ok(v) if args.json => {
            println!("{v}");
            std::process::ExitCode::SUCCESS
        }
        Ok(v) => {
            print!("{}", render(&args.endpoint, &v));
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            if !args.quiet {
                eprintln!("nuage status: {e}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_sizes_and_counts() {
        let v = serde_json::json!({"version": "0.1.0", "uptime_seconds": 3725, "data_dir": "/d", "data_bytes": 5_242_880,
            "services": {"s3": {"buckets": 2, "object versions": 7}, "sts": {}}});
        assert_eq!(
            render("http://127.0.0.1:4566", &v),
            "nuage 0.1.0 at http://127.0.0.1:4566, up 1h 2m\nstate: /d (5.0 MiB)\n  s3              2 buckets, 7 object versions\n  sts             running\n"
        );
    }
}
