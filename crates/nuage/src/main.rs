//! The nuage binary: parses flags, opens the store and wires the services to the front door.

mod status;

use clap::{Parser, Subcommand};
use nuage_core::identity::{Bootstrap, Identities};
use nuage_front::{Config, Frontend, Service};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "nuage",
    version,
    about = "A local AWS cloud for data work: S3, IAM/STS, Redshift, DynamoDB, CloudWatch and more on one endpoint."
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Ship log files to CloudWatch Logs as the CloudWatch agent would, from its own
    /// configuration file (`logs.logs_collected.files.collect_list`), following them as they
    /// grow. Credentials and region come from the usual AWS environment variables (`test`,
    /// `test` and us-east-1 by default).
    Agent(AgentArgs),
    /// What a running nuage holds: services, buckets, clusters, tables, log groups, and the
    /// size of its state.
    Status(status::StatusArgs),
}

#[derive(clap::Args, Clone)]
struct AgentArgs {
    /// The CloudWatch agent's configuration (amazon-cloudwatch-agent.json).
    #[arg(long)]
    config: PathBuf,
    /// nuage's endpoint.
    #[arg(long, env = "AWS_ENDPOINT_URL", default_value = "http://127.0.0.1:4566")]
    endpoint: String,
    /// The region (otherwise `agent.region` of the configuration, AWS_REGION, AWS_DEFAULT_REGION).
    #[arg(long)]
    region: Option<String>,
    /// Where read positions are kept (default: the configuration's path with `.state`).
    #[arg(long)]
    state: Option<PathBuf>,
    /// Ship what the files hold now and stop, instead of following them.
    #[arg(long)]
    once: bool,
}

#[derive(clap::Args, Clone)]
struct ServeArgs {
    /// Port of the one endpoint every API shares.
    #[arg(long, env = "NUAGE_PORT", default_value_t = 4566)]
    port: u16,
    /// Address to bind, for the endpoint and the clusters' SQL ports. Loopback by default:
    /// nuage is a local tool (its container image listens on 0.0.0.0 inside the container).
    #[arg(long, env = "NUAGE_HOST", default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Where state is kept.
    #[arg(long, env = "NUAGE_DATA_DIR", default_value = ".nuage")]
    data_dir: PathBuf,
    /// Keep state in a temporary directory removed at exit.
    #[arg(long, env = "NUAGE_EPHEMERAL")]
    ephemeral: bool,
    /// A TOML or JSON file declaring further accounts, users and access keys.
    #[arg(long, env = "NUAGE_BOOTSTRAP")]
    bootstrap: Option<PathBuf>,
    /// Accept requests without checking their SigV4 signatures (the access key still names the caller).
    #[arg(long, env = "NUAGE_NO_VERIFY_SIGNATURES")]
    no_verify_signatures: bool,
    /// Do not evaluate IAM policies: every principal acts as the root of its account (resource
    /// policies and ACLs still decide across accounts).
    #[arg(long, env = "NUAGE_NO_ENFORCE_POLICIES")]
    no_enforce_policies: bool,
    /// Seconds between two lifecycle passes (S3 runs them daily; actions are still due at
    /// midnight UTC, as on S3).
    #[arg(long, env = "NUAGE_LIFECYCLE_INTERVAL", default_value_t = 60)]
    lifecycle_interval: u64,
    /// Leave out the public sample buckets (the TICKIT data of Redshift's getting-started lab,
    /// `s3://awssampledbuswest2/tickit/`, and the café's web logs of the CloudWatch Logs lab,
    /// `s3://nuage-samples-cafe/logs/`), which are otherwise published in the background at
    /// start-up.
    #[arg(long, env = "NUAGE_NO_SAMPLES")]
    no_samples: bool,
    /// Memory each Redshift cluster's queries may hold at once, in MiB; joins, aggregations
    /// and sorts beyond it spill to disk. By default a quarter of the machine's memory.
    #[arg(long, env = "NUAGE_WAREHOUSE_MEMORY")]
    warehouse_memory: Option<u64>,
    /// Serve every DynamoDB request whatever its table's provisioned capacity (for bulk
    /// loading); consumed capacity is still computed and reported.
    #[arg(long, env = "NUAGE_NO_DYNAMODB_THROTTLING")]
    no_dynamodb_throttling: bool,
    /// Seconds between two background expiry passes: DynamoDB's TTL (expired items deleted)
    /// and CloudWatch Logs' retention (events older than their group's retention deleted).
    #[arg(long, env = "NUAGE_TTL_INTERVAL", default_value_t = 30)]
    ttl_interval: u64,
    /// How many times faster than S3 a restore of an archived object (Glacier Flexible
    /// Retrieval, Deep Archive) completes: 60 makes S3's hours minutes.
    #[arg(long, env = "NUAGE_RESTORE_SPEEDUP", default_value_t = 60.0)]
    restore_speedup: f64,
    /// Seconds between two automated snapshots of a Redshift cluster (Redshift takes one about
    /// every eight hours); each is kept for the cluster's AutomatedSnapshotRetentionPeriod.
    #[arg(long, env = "NUAGE_AUTOMATED_SNAPSHOT_INTERVAL", default_value_t = 28_800)]
    automated_snapshot_interval: u64,
    /// Seconds between two recovery points of a Redshift Serverless namespace (Redshift
    /// Serverless takes one every 30 minutes); each is kept 24 hours.
    #[arg(long, env = "NUAGE_RECOVERY_POINT_INTERVAL", default_value_t = 1800)]
    recovery_point_interval: u64,
    /// Seconds between two deliveries of S3 server access logs to their target buckets (S3
    /// delivers within hours, usually minutes).
    #[arg(long, env = "NUAGE_ACCESS_LOG_INTERVAL", default_value_t = 60)]
    access_log_interval: u64,
    /// Seconds between two evaluations of the CloudWatch alarms (AWS evaluates each alarm
    /// about once a minute, high-resolution ones every 10 seconds).
    #[arg(long, env = "NUAGE_ALARM_INTERVAL", default_value_t = 10)]
    alarm_interval: u64,
    /// Seconds between two publications of the services' own CloudWatch metrics
    /// (`AWS/DynamoDB`, `AWS/Redshift`, S3's request metrics), folded per minute in between.
    #[arg(long, env = "NUAGE_METRICS_INTERVAL", default_value_t = 60)]
    metrics_interval: u64,
    /// Seconds between two S3 inventory passes, which make the reports that are due (daily or
    /// weekly ones; a new configuration's first at the next pass).
    #[arg(long, env = "NUAGE_INVENTORY_INTERVAL", default_value_t = 3600)]
    inventory_interval: u64,
    /// Seconds between two measurements of S3's storage metrics (BucketSizeBytes,
    /// NumberOfObjects), which S3 publishes once a day.
    #[arg(long, env = "NUAGE_STORAGE_METRICS_INTERVAL", default_value_t = 86_400)]
    storage_metrics_interval: u64,
    /// Log filter (tracing's EnvFilter syntax), e.g. `info` or `nuage=debug`.
    #[arg(long, env = "NUAGE_LOG", default_value = "info")]
    log: String,
}

/// The machine's memory (`MemTotal`), or 8 GiB where it cannot be read.
fn machine_memory() -> usize {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<usize>().ok()
        })
        .map(|kib| kib << 10)
        .unwrap_or(8 << 30)
}

fn load_bootstrap(path: &std::path::Path) -> Result<Bootstrap, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    } else {
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Publishes the sample buckets in the background: start-up does not wait for them.
fn spawn_samples(frontend: Arc<Frontend>) {
    tokio::spawn(async move {
        if let Err(e) = nuage_samples::publish_tickit(frontend.clone()).await {
            tracing::warn!(error = %e, "the TICKIT sample bucket could not be published");
        }
        if let Err(e) = nuage_samples::publish_cafe(frontend).await {
            tracing::warn!(error = %e, "the café logs sample could not be published");
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("signal handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down");
}

fn agent(a: AgentArgs) -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("nuage agent: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let options =
        nuage_agent::Options { config: a.config, endpoint: a.endpoint, region: a.region, state: a.state, once: a.once };
    match runtime.block_on(nuage_agent::run(options)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nuage agent: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Serve(a)) => a,
        Some(Command::Agent(a)) => return agent(a),
        Some(Command::Status(a)) => return status::run(a),
        None => cli.serve,
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&args.log).unwrap_or_else(|_| "info".into()))
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    // SQL planning recurses over deep expression trees (and a debug build's futures are
    // large): worker threads get more than tokio's 2 MiB of stack.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(16 << 20)
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nuage: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: ServeArgs) -> Result<(), String> {
    let bootstrap = match &args.bootstrap {
        Some(p) => load_bootstrap(p)?,
        None => Bootstrap::default(),
    };
    let temp = if args.ephemeral { Some(tempfile::tempdir().map_err(|e| e.to_string())?) } else { None };
    let data_dir = temp.as_ref().map(|t| t.path().to_path_buf()).unwrap_or(args.data_dir.clone());
    std::fs::create_dir_all(&data_dir).map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    let store = nuage_storage::Store::open(&data_dir)
        .map_err(|e| format!("cannot open the store in {}: {e}", data_dir.display()))?;
    let identities = Arc::new(Identities::new(&bootstrap));
    let bootstrap_users = bootstrap
        .accounts
        .iter()
        .flat_map(|a| {
            a.users.iter().map(|u| nuage_iam::BootstrapUser {
                account: a.id.clone(),
                name: u.name.clone(),
                user_id: nuage_core::identity::bootstrap_user_id(&a.id, &u.name),
                keys: u.keys.iter().map(|k| (k.access_key.clone(), k.secret_key.clone())).collect(),
                policies: u.policies.clone(),
            })
        })
        .collect();
    let iam = nuage_iam::Iam::open(store.clone(), identities.clone(), bootstrap_users).map_err(|e| e.to_string())?;
    let internal = Arc::new(nuage_front::Internal::default());
    let s3 = Arc::new(
        nuage_s3::S3Service::new(store.clone(), identities.clone(), iam.clone(), internal.clone())
            .with_restore_speedup(args.restore_speedup),
    );
    tokio::spawn(s3.clone().run_lifecycle(std::time::Duration::from_secs(args.lifecycle_interval.max(1))));
    tokio::spawn(s3.clone().run_access_log_delivery(std::time::Duration::from_secs(args.access_log_interval.max(1))));
    tokio::spawn(s3.clone().run_glacier_select(std::time::Duration::from_secs(1)));
    tokio::spawn(s3.clone().run_inventory(std::time::Duration::from_secs(args.inventory_interval.max(1))));
    tokio::spawn(s3.clone().run_metrics(
        std::time::Duration::from_secs(args.metrics_interval.max(1)),
        std::time::Duration::from_secs(args.storage_metrics_interval.max(1)),
    ));
    let warehouse_memory = match args.warehouse_memory {
        Some(mib) => (mib as usize) << 20,
        None => machine_memory() / 4,
    };
    let redshift =
        nuage_redshift::Redshift::open(store.clone(), data_dir.clone(), internal.clone(), warehouse_memory, args.host)
            .await
            .map_err(|e| e.to_string())?;
    tokio::spawn(redshift.clone().run_backups(
        std::time::Duration::from_secs(args.automated_snapshot_interval.max(1)),
        std::time::Duration::from_secs(args.recovery_point_interval.max(1)),
    ));
    tokio::spawn(redshift.clone().run_scheduler());
    tokio::spawn(redshift.clone().run_metrics(std::time::Duration::from_secs(args.metrics_interval.max(1))));
    let dynamodb = nuage_dynamodb::DynamoDb::new(store.clone(), !args.no_dynamodb_throttling, internal.clone());
    tokio::spawn(dynamodb.clone().run_ttl(std::time::Duration::from_secs(args.ttl_interval.max(1))));
    tokio::spawn(dynamodb.clone().run_metrics(std::time::Duration::from_secs(args.metrics_interval.max(1))));
    let logs = nuage_logs::Logs::new(store.clone(), internal.clone());
    tokio::spawn(logs.clone().run_retention(std::time::Duration::from_secs(args.ttl_interval.max(1))));
    let cloudwatch = nuage_cloudwatch::CloudWatch::new(store.clone());
    tokio::spawn(cloudwatch.clone().run_alarms(std::time::Duration::from_secs(args.alarm_interval.max(1))));
    let services: Vec<Arc<dyn Service>> = vec![
        s3,
        Arc::new(nuage_front::Typed(nuage_iam::IamService::new(iam.clone()))),
        Arc::new(nuage_front::Typed(nuage_iam::StsService::new(iam.clone()))),
        Arc::new(nuage_front::Typed(nuage_redshift::RedshiftService::new(redshift.clone()))),
        Arc::new(nuage_front::Typed(nuage_redshift::RedshiftServerlessService::new(redshift.clone()))),
        Arc::new(nuage_front::Typed(nuage_redshift::RedshiftDataService::new(redshift))),
        Arc::new(nuage_front::Typed(nuage_secretsmanager::SecretsManagerService::new(store.clone(), internal.clone()))),
        Arc::new(nuage_front::Typed(nuage_ec2::Ec2Service::new(store.clone()))),
        Arc::new(nuage_front::Typed(nuage_dynamodb::DynamoDbService(dynamodb.clone()))),
        Arc::new(nuage_front::Typed(nuage_dynamodb::DynamoDbStreamsService(dynamodb))),
        Arc::new(nuage_front::Typed(nuage_logs::LogsService(logs))),
        Arc::new(nuage_front::Typed(nuage_cloudwatch::CloudWatchService(cloudwatch))),
    ];
    let reset_store = store.clone();
    let publish_samples = !args.no_samples;
    let reset_internal = internal.clone();
    let frontend = Arc::new(Frontend {
        identities,
        policies: iam,
        services,
        config: Config {
            spool_dir: Some(store.blob_dir().to_path_buf()),
            verify_signatures: !args.no_verify_signatures,
            enforce_policies: !args.no_enforce_policies,
        },
        data_dir: data_dir.clone(),
        started: std::time::Instant::now(),
        reset: Box::new(move || {
            let s = reset_store.clone();
            let republish = publish_samples.then(|| reset_internal.clone());
            Box::pin(async move {
                s.reset().await?;
                if let Some(internal) = republish {
                    spawn_samples(internal.frontend()?);
                }
                Ok(())
            })
        }),
    });
    internal.attach(&frontend);
    if publish_samples {
        spawn_samples(frontend.clone());
    }
    let addr = SocketAddr::new(args.host, args.port);
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    tracing::info!(%addr, data_dir = %data_dir.display(), "nuage ready");
    nuage_front::serve(frontend, listener, shutdown_signal()).await.map_err(|e| e.to_string())?;
    drop(store);
    drop(temp);
    Ok(())
}
