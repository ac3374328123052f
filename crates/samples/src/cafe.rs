//! The café web server's logs, for the CloudWatch Logs lab: one business day (08:00–20:00
//! UTC) of Apache's access log in its JSON format with the geolocation fields, and the error
//! log in Apache's own format. Visitors come from the documentation address ranges, browse
//! the home page, look at the menu, some order; a few bots probe for admin pages. The same
//! seed gives the same visits every time; only the day they fall on moves (AWS refuses log
//! events older than 14 days, so the sample is always yesterday's).
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt::Write;
use time::{Date, Duration, OffsetDateTime, Time};

pub const HOST: &str = "cafe.example.com";
pub const MENU: &str = "/cafe/menu.php";
pub const ORDER: &str = "/cafe/processOrder.php";

/// Where visitors come from: country code, city, and how many in a hundred.
const PLACES: &[(&str, &str, u32)] = &[
    ("US", "Seattle", 22),
    ("US", "New York", 14),
    ("CA", "Vancouver", 9),
    ("GB", "London", 10),
    ("FR", "Paris", 9),
    ("DE", "Berlin", 8),
    ("JP", "Tokyo", 7),
    ("BR", "São Paulo", 6),
    ("IN", "Bengaluru", 6),
    ("AU", "Sydney", 5),
    ("MX", "Mexico City", 4),
];

const AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
];

const BOT_AGENT: &str = "Mozilla/5.0 (compatible; scanner/1.2)";
const ASSETS: &[&str] = &["/cafe/css/styles.css", "/cafe/images/Coffee-and-Pastries.jpg", "/cafe/images/Cafe-Sign.jpg"];

/// One line of the access log, before it is written.
struct Hit {
    at: OffsetDateTime,
    ip: String,
    method: &'static str,
    path: &'static str,
    query: String,
    status: u16,
    micros: u32,
    agent: &'static str,
    referer: String,
    country: &'static str,
    city: &'static str,
}

/// Who visits: where from, with which browser.
struct Visitor {
    ip: String,
    agent: &'static str,
    country: &'static str,
    city: &'static str,
}

impl Visitor {
    fn hit(
        &self,
        rng: &mut StdRng,
        at: OffsetDateTime,
        method: &'static str,
        path: &'static str,
        status: u16,
        referer: &str,
    ) -> Hit {
        Hit {
            at,
            ip: self.ip.clone(),
            method,
            path,
            query: String::new(),
            status,
            micros: rng.gen_range(800..250_000),
            agent: self.agent,
            referer: referer.to_string(),
            country: self.country,
            city: self.city,
        }
    }
}

impl Visitor {
    /// A PHP message in the error log about this visitor's request.
    fn php(&self, rng: &mut StdRng, at: OffsetDateTime, level: &'static str, message: String) -> Trouble {
        Trouble {
            at,
            module: "php",
            level,
            pid: 1002 + rng.gen_range(0..8),
            client: Some((self.ip.clone(), rng.gen_range(32768..61000))),
            message,
        }
    }
}

/// One line of the error log: when, module:level, pid, client, message.
struct Trouble {
    at: OffsetDateTime,
    module: &'static str,
    level: &'static str,
    pid: u32,
    client: Option<(String, u16)>,
    message: String,
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

impl Hit {
    fn line(&self) -> String {
        let time = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            self.at.year(),
            self.at.month() as u8,
            self.at.day(),
            self.at.hour(),
            self.at.minute(),
            self.at.second(),
            self.at.millisecond()
        );
        // Apache's LogFormat for CloudWatch in JSON, with mod_maxminddb's country and city.
        format!(
            "{{\"time\":\"{time}\",\"process\":\"{}\",\"filename\":{},\"remoteIP\":\"{}\",\"host\":\"{HOST}\",\"request\":{},\"query\":{},\"method\":\"{}\",\"status\":{},\"userAgent\":{},\"referer\":{},\"country\":\"{}\",\"city\":{}}}",
            self.micros,
            json_string(&format!("/var/www/html{}", self.path)),
            self.ip,
            json_string(self.path),
            json_string(&self.query),
            self.method,
            self.status,
            json_string(self.agent),
            json_string(&self.referer),
            self.country,
            json_string(self.city),
        )
    }
}

impl Trouble {
    fn line(&self) -> String {
        // `[Sun Dec 06 10:15:32.123456 2026]`, as Apache 2.4 writes it.
        let day =
            ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][self.at.weekday().number_days_from_monday() as usize];
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
        let mut s = format!(
            "[{day} {} {:02} {:02}:{:02}:{:02}.{:06} {}] [{}:{}] [pid {}]",
            months[self.at.month() as usize - 1],
            self.at.day(),
            self.at.hour(),
            self.at.minute(),
            self.at.second(),
            self.at.microsecond(),
            self.at.year(),
            self.module,
            self.level,
            self.pid
        );
        if let Some((ip, port)) = &self.client {
            let _ = write!(s, " [client {ip}:{port}]");
        }
        let _ = write!(s, " {}", self.message);
        s
    }
}

/// The sample's day: yesterday (UTC) of `now`.
pub fn sample_day(now: OffsetDateTime) -> Date {
    now.date().previous_day().unwrap_or(now.date())
}

/// The access log and the error log of the café's day `day`.
pub fn logs(day: Date) -> (String, String) {
    let mut rng = StdRng::seed_from_u64(0xCAFE);
    let opening = day.with_time(Time::from_hms(8, 0, 0).unwrap_or(Time::MIDNIGHT)).assume_utc();
    let day_ms = 12 * 3600 * 1000;
    let mut hits: Vec<Hit> = Vec::new();
    let mut troubles: Vec<Trouble> = vec![
        Trouble {
            at: opening - Duration::seconds(30),
            module: "mpm_prefork",
            level: "notice",
            pid: 1001,
            client: None,
            message: "AH00163: Apache/2.4.62 (Amazon Linux) PHP/8.3.10 configured -- resuming normal operations".into(),
        },
        Trouble {
            at: opening - Duration::seconds(30) + Duration::microseconds(412),
            module: "core",
            level: "notice",
            pid: 1001,
            client: None,
            message: "AH00094: Command line: '/usr/sbin/httpd -D FOREGROUND'".into(),
        },
    ];
    let total: u32 = PLACES.iter().map(|p| p.2).sum();
    // 600 visitors from the three documentation ranges (RFC 5737).
    let ranges = ["192.0.2", "198.51.100", "203.0.113"];
    for v in 0..600u32 {
        let ip = format!("{}.{}", ranges[(v % 3) as usize], 1 + v / 3);
        let mut pick = rng.gen_range(0..total);
        let &(country, city, _) = PLACES
            .iter()
            .find(|p| {
                if pick < p.2 {
                    true
                } else {
                    pick -= p.2;
                    false
                }
            })
            .unwrap_or(&PLACES[0]);
        let visitor = Visitor { ip: ip.clone(), agent: AGENTS[rng.gen_range(0..AGENTS.len())], country, city };
        let visits = 1 + (rng.gen_range(0..10) / 6) as usize;
        for _ in 0..visits {
            let mut at = opening + Duration::milliseconds(rng.gen_range(0..day_ms - 600_000));
            let home = format!("http://{HOST}/cafe/");
            hits.push(visitor.hit(&mut rng, at, "GET", "/cafe/", 200, "-"));
            for asset in ASSETS {
                at += Duration::milliseconds(40);
                hits.push(visitor.hit(&mut rng, at, "GET", asset, if visits > 1 { 304 } else { 200 }, &home));
            }
            // Seven in ten look at the menu; of those, four in ten order.
            if rng.gen_range(0..10) >= 7 {
                continue;
            }
            at += Duration::seconds(rng.gen_range(5..90));
            hits.push(visitor.hit(&mut rng, at, "GET", MENU, 200, &home));
            let menu_ref = format!("http://{HOST}{MENU}");
            if rng.gen_range(0..100) < 4 {
                let warning = format!(
                    "PHP Warning:  Undefined array key \"size\" in /var/www/html{MENU} on line 42, referer: {home}"
                );
                troubles.push(visitor.php(&mut rng, at + Duration::microseconds(350), "warn", warning));
            }
            if rng.gen_range(0..10) >= 4 {
                continue;
            }
            at += Duration::seconds(rng.gen_range(20..300));
            let failed = rng.gen_range(0..100) < 5;
            let status = if failed { 500 } else { 200 };
            hits.push(visitor.hit(&mut rng, at, "POST", ORDER, status, &menu_ref));
            if failed {
                let fatal = format!(
                    "PHP Fatal error:  Uncaught mysqli_sql_exception: Too many connections in /var/www/html{ORDER}:14, referer: {menu_ref}"
                );
                troubles.push(visitor.php(&mut rng, at + Duration::microseconds(900), "error", fatal));
            } else if rng.gen_range(0..10) < 3 {
                at += Duration::seconds(rng.gen_range(5..60));
                let order_ref = format!("http://{HOST}{ORDER}");
                hits.push(visitor.hit(&mut rng, at, "GET", "/cafe/orderHistory.php", 200, &order_ref));
            }
        }
    }
    // A few scanners probing for what is not there.
    let probes: &[(&str, u16)] =
        &[("/cafe/admin.php", 403), ("/wp-login.php", 404), ("/.env", 404), ("/cafe/phpinfo.php", 404)];
    for b in 0..12u32 {
        let ip = format!("198.51.100.{}", 230 + b);
        let mut at = opening + Duration::milliseconds(rng.gen_range(0..day_ms - 60_000));
        for &(path, status) in probes {
            at += Duration::milliseconds(rng.gen_range(100..900));
            hits.push(Hit {
                at,
                ip: ip.clone(),
                method: "GET",
                path,
                query: String::new(),
                status,
                micros: rng.gen_range(300..2_000),
                agent: BOT_AGENT,
                referer: "-".into(),
                country: "ZZ",
                city: "Unknown",
            });
            let client = Some((ip.clone(), rng.gen_range(32768..61000)));
            let pid = 1002 + rng.gen_range(0..8);
            match (status, path.ends_with(".php")) {
                (403, _) => troubles.push(Trouble {
                    at: at + Duration::microseconds(120),
                    module: "authz_core",
                    level: "error",
                    pid,
                    client,
                    message: format!("AH01630: client denied by server configuration: /var/www/html{path}"),
                }),
                (404, true) => troubles.push(Trouble {
                    at: at + Duration::microseconds(150),
                    module: "proxy_fcgi",
                    level: "error",
                    pid,
                    client,
                    message: "AH01071: Got error 'Primary script unknown'".into(),
                }),
                _ => {}
            }
        }
    }
    hits.sort_by_key(|h| h.at);
    troubles.sort_by_key(|t| t.at);
    let mut access = String::new();
    for h in &hits {
        access.push_str(&h.line());
        access.push('\n');
    }
    let mut errors = String::new();
    for t in &troubles {
        errors.push_str(&t.line());
        errors.push('\n');
    }
    (access, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_day_gives_the_same_bytes() {
        let day = Date::from_calendar_date(2026, time::Month::December, 6).unwrap();
        let (a, e) = logs(day);
        assert_eq!(logs(day), (a.clone(), e.clone()));
        let first: serde_json::Value = serde_json::from_str(a.lines().next().unwrap()).unwrap();
        assert!(first["time"].as_str().unwrap().starts_with("2026-12-06T08:"));
        assert!(a.lines().count() > 2000);
        assert!(e
            .lines()
            .next()
            .unwrap()
            .starts_with("[Sun Dec 06 07:59:30.000000 2026] [mpm_prefork:notice] [pid 1001] AH00163"));
        assert!(a.contains(MENU) && a.contains(ORDER) && e.contains("[php:error]") && e.contains("[authz_core:error]"));
    }
}
