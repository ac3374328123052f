//! TICKIT, the ticket-sales sample of Redshift's getting-started guide: seven files with
//! the real names, schema, row counts, formats (pipe-delimited; sales tab-delimited with
//! `MM/DD/YYYY HH:MI:SS` times) and referential integrity. The originals cannot be fetched
//! here, so the rows are generated from a fixed seed: every run gives the same bytes.
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt::Write;

pub const USERS: usize = 49_990;
pub const VENUES: usize = 202;
pub const CATEGORIES: usize = 11;
pub const DATES: usize = 365;
pub const EVENTS: usize = 8_798;
pub const LISTINGS: usize = 192_497;
pub const SALES: usize = 172_456;

/// The first DATEID: 2008-01-01, as in the original data.
const FIRST_DATEID: i64 = 1827;

const FIRST_NAMES: &[&str] = &[
    "Rafael",
    "Vladimir",
    "Lars",
    "Barry",
    "Reagan",
    "Victor",
    "Tamekah",
    "Colton",
    "Mufutau",
    "Naida",
    "Ignatius",
    "Nigel",
    "Amos",
    "Nora",
    "Ruth",
    "Hedda",
    "Kermit",
    "Lane",
    "Holly",
    "Scott",
    "Wylie",
    "Aurora",
    "Cora",
    "Ferdinand",
    "Giselle",
    "Hamish",
    "Iris",
    "Jasper",
    "Keiko",
    "Lionel",
    "Maya",
    "Nolan",
    "Odette",
    "Pablo",
    "Quinn",
    "Rosa",
    "Silas",
    "Tessa",
    "Uriel",
    "Vera",
    "Wade",
    "Xena",
    "Yusuf",
    "Zelda",
    "Abel",
    "Bianca",
];
const LAST_NAMES: &[&str] = &[
    "Taylor",
    "Humphrey",
    "Ratliff",
    "Roy",
    "Hooper",
    "Ellis",
    "Bryan",
    "Huff",
    "Knight",
    "Mcbride",
    "Poole",
    "Walls",
    "Burks",
    "Pace",
    "Tanner",
    "Cardenas",
    "Delgado",
    "Fuller",
    "Garner",
    "Hines",
    "Irwin",
    "Jarvis",
    "Kemp",
    "Lamb",
    "Mayer",
    "Nash",
    "Ochoa",
    "Parks",
    "Quinn",
    "Rowe",
    "Santos",
    "Tate",
    "Underwood",
    "Vance",
    "Weber",
    "Young",
    "Zamora",
    "Acosta",
    "Boone",
    "Cline",
];
const CITIES: &[(&str, &str)] = &[
    ("Kent", "WA"),
    ("Augusta", "ME"),
    ("Moline", "IL"),
    ("Chicago", "IL"),
    ("New York", "NY"),
    ("Buffalo", "NY"),
    ("San Diego", "CA"),
    ("Los Angeles", "CA"),
    ("San Francisco", "CA"),
    ("Oakland", "CA"),
    ("Seattle", "WA"),
    ("Portland", "OR"),
    ("Phoenix", "AZ"),
    ("Denver", "CO"),
    ("Dallas", "TX"),
    ("Houston", "TX"),
    ("Austin", "TX"),
    ("Miami", "FL"),
    ("Tampa", "FL"),
    ("Orlando", "FL"),
    ("Atlanta", "GA"),
    ("Boston", "MA"),
    ("Providence", "RI"),
    ("Philadelphia", "PA"),
    ("Pittsburgh", "PA"),
    ("Cleveland", "OH"),
    ("Columbus", "OH"),
    ("Detroit", "MI"),
    ("Minneapolis", "MN"),
    ("St. Louis", "MO"),
    ("Kansas City", "MO"),
    ("Nashville", "TN"),
    ("Memphis", "TN"),
    ("New Orleans", "LA"),
    ("Charlotte", "NC"),
    ("Raleigh", "NC"),
    ("Baltimore", "MD"),
    ("Washington", "DC"),
    ("Salt Lake City", "UT"),
    ("Las Vegas", "NV"),
    ("Milwaukee", "WI"),
    ("Indianapolis", "IN"),
    ("Toronto", "ON"),
    ("Montreal", "QC"),
    ("Vancouver", "BC"),
];
const VENUE_KINDS: &[&str] =
    &["Arena", "Stadium", "Center", "Theatre", "Hall", "Park", "Field", "Amphitheatre", "Coliseum", "Opera House"];
const DOMAINS: &[&str] = &["example.com", "mail.example.org", "example.net", "tickit.example", "sample.edu"];

/// CATID, CATGROUP, CATNAME, CATDESC: the original eleven.
const CATEGORY_ROWS: [(&str, &str, &str); CATEGORIES] = [
    ("Sports", "MLB", "Major League Baseball"),
    ("Sports", "NHL", "National Hockey League"),
    ("Sports", "NFL", "National Football League"),
    ("Sports", "NBA", "National Basketball Association"),
    ("Sports", "MLS", "Major League Soccer"),
    ("Shows", "Musicals", "Musical theatre"),
    ("Shows", "Plays", "All non-musical theatre"),
    ("Shows", "Opera", "All opera and light opera"),
    ("Concerts", "Pop", "All rock and pop music concerts"),
    ("Concerts", "Jazz", "All jazz singers and bands"),
    ("Concerts", "Classical", "All symphony, concerto, and choir concerts"),
];

const MUSICALS: &[&str] = &[
    "Mamma Mia!",
    "Jersey Boys",
    "The Lion King",
    "Wicked",
    "Grease",
    "Spring Awakening",
    "Legally Blonde",
    "Hairspray",
    "Chicago",
    "Phantom of the Opera",
    "Shrek the Musical",
    "Rent",
];
const PLAYS: &[&str] = &[
    "Macbeth",
    "Hamlet",
    "Equus",
    "Boeing Boeing",
    "The Seagull",
    "A Doll's House",
    "Our Town",
    "Death of a Salesman",
    "Uncle Vanya",
    "Othello",
];
const OPERAS: &[&str] = &[
    "Gotterdammerung",
    "La Boheme",
    "Carmen",
    "Tosca",
    "Aida",
    "Rigoletto",
    "Die Walkure",
    "Don Giovanni",
    "Madama Butterfly",
    "Salome",
    "The Magic Flute",
    "Il Trovatore",
];
const POP: &[&str] = &[
    "The Killers",
    "Foo Fighters",
    "Coldplay",
    "Linkin Park",
    "Rihanna",
    "Bon Jovi",
    "Radiohead",
    "Beck",
    "Gwen Stefani",
    "Kanye West",
    "Fall Out Boy",
    "Paramore",
    "Maroon 5",
    "Nickelback",
];
const JAZZ: &[&str] = &[
    "Diana Krall",
    "Herbie Hancock",
    "Chick Corea",
    "Pat Metheny",
    "Wynton Marsalis",
    "Dave Brubeck",
    "Cassandra Wilson",
    "Norah Jones",
];
const CLASSICAL: &[&str] = &[
    "Yo-Yo Ma",
    "Itzhak Perlman",
    "Joshua Bell",
    "Lang Lang",
    "Anne-Sophie Mutter",
    "Vienna Boys Choir",
    "London Symphony",
    "Berlin Philharmonic",
];
const TEAMS: &[&str] = &[
    "Giants", "Red Sox", "Yankees", "Cubs", "Bruins", "Rangers", "Lakers", "Celtics", "Packers", "Steelers", "Galaxy",
    "Fire", "Sharks", "Flames", "Suns", "Jets",
];

const HOLIDAYS: &[(u32, u32)] =
    &[(1, 1), (1, 21), (2, 18), (5, 26), (7, 4), (9, 1), (10, 13), (11, 11), (11, 27), (12, 25)];

fn pick<'a, T>(rng: &mut StdRng, list: &'a [T]) -> &'a T {
    &list[rng.gen_range(0..list.len())]
}

/// A day of 2008 by its offset from January 1: (month, day).
fn day_of_2008(offset: i64) -> (u32, u32) {
    const MONTH_DAYS: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let mut left = offset as u32;
    for (m, days) in MONTH_DAYS.iter().enumerate() {
        if left < *days {
            return (m as u32 + 1, left + 1);
        }
        left -= days;
    }
    (12, 31)
}

struct Event {
    dateid: i64,
}

struct Listing {
    seller: usize,
    event: usize,
    dateid: i64,
    tickets: u32,
    price: u32,
}

/// The seven files: (name, contents).
pub fn files() -> Vec<(&'static str, Vec<u8>)> {
    let mut rng = StdRng::seed_from_u64(2008);
    let mut out = Vec::with_capacity(7);

    let mut users = String::with_capacity(USERS * 140);
    for id in 1..=USERS {
        let first = pick(&mut rng, FIRST_NAMES);
        let last = pick(&mut rng, LAST_NAMES);
        let (city, state) = pick(&mut rng, CITIES);
        let username: String =
            (0..8).map(|_| *pick(&mut rng, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") as char).collect();
        let email = format!("{}.{}{}@{}", first.to_lowercase(), last.to_lowercase(), id % 977, pick(&mut rng, DOMAINS));
        let phone =
            format!("({:03}) {:03}-{:04}", rng.gen_range(200..1000), rng.gen_range(200..1000), rng.gen_range(0..10000));
        let _ = write!(users, "{id}|{username}|{first}|{last}|{city}|{state}|{email}|{phone}");
        for _ in 0..10 {
            users.push_str(match rng.gen_range(0..10) {
                0..=2 => "|TRUE",
                3..=5 => "|FALSE",
                _ => "|",
            });
        }
        users.push('\n');
    }
    out.push(("allusers_pipe.txt", users.into_bytes()));

    let mut venues = String::new();
    for id in 1..=VENUES {
        let (city, state) = CITIES[id % CITIES.len()];
        let kind = pick(&mut rng, VENUE_KINDS);
        let name = format!("{} {kind}", pick(&mut rng, LAST_NAMES));
        // About one venue in five has no published seat count, as in the original.
        let seats = if rng.gen_range(0..5) == 0 { 0 } else { rng.gen_range(20..80) * 1000 };
        let _ = writeln!(venues, "{id}|{name}|{city}|{state}|{seats}");
    }
    out.push(("venue_pipe.txt", venues.into_bytes()));

    let mut categories = String::new();
    for (i, (group, name, desc)) in CATEGORY_ROWS.iter().enumerate() {
        let _ = writeln!(categories, "{}|{group}|{name}|{desc}", i + 1);
    }
    out.push(("category_pipe.txt", categories.into_bytes()));

    const DAYS: [&str; 7] = ["TU", "WE", "TH", "FR", "SA", "SU", "MO"];
    const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    let mut dates = String::new();
    for offset in 0..DATES as i64 {
        let (m, d) = day_of_2008(offset);
        let holiday = if HOLIDAYS.contains(&(m, d)) { "TRUE" } else { "FALSE" };
        let _ = writeln!(
            dates,
            "{}|2008-{m:02}-{d:02}|{}|{}|{}|{}|2008|{holiday}",
            FIRST_DATEID + offset,
            DAYS[(offset % 7) as usize],
            offset / 7 + 1,
            MONTHS[m as usize - 1],
            (m - 1) / 3 + 1
        );
    }
    out.push(("date2008_pipe.txt", dates.into_bytes()));

    let mut events = Vec::with_capacity(EVENTS);
    let mut event_text = String::with_capacity(EVENTS * 60);
    for id in 1..=EVENTS {
        let catid = rng.gen_range(1..=CATEGORIES);
        let name = match catid {
            1..=5 => format!("{} vs {}", pick(&mut rng, TEAMS), pick(&mut rng, TEAMS)),
            6 => pick(&mut rng, MUSICALS).to_string(),
            7 => pick(&mut rng, PLAYS).to_string(),
            8 => pick(&mut rng, OPERAS).to_string(),
            9 => pick(&mut rng, POP).to_string(),
            10 => pick(&mut rng, JAZZ).to_string(),
            _ => pick(&mut rng, CLASSICAL).to_string(),
        };
        let offset = rng.gen_range(0..DATES as i64);
        let (m, d) = day_of_2008(offset);
        let hour = *pick(&mut rng, &[14, 15, 19, 19, 20, 20]);
        let minute = *pick(&mut rng, &[0, 30]);
        let _ = writeln!(
            event_text,
            "{id}|{}|{catid}|{}|{name}|2008-{m:02}-{d:02} {hour:02}:{minute:02}:00",
            rng.gen_range(1..=VENUES),
            FIRST_DATEID + offset
        );
        events.push(Event { dateid: FIRST_DATEID + offset });
    }
    out.push(("allevents_pipe.txt", event_text.into_bytes()));

    let mut listings: Vec<Listing> = Vec::with_capacity(LISTINGS);
    let mut listing_text = String::with_capacity(LISTINGS * 64);
    for id in 1..=LISTINGS {
        let event = rng.gen_range(0..EVENTS);
        let event_date = events[event].dateid;
        let dateid = (event_date - rng.gen_range(0..60)).max(FIRST_DATEID);
        let tickets = rng.gen_range(1..=30u32);
        let price = rng.gen_range(20..=2500u32);
        let (m, d) = day_of_2008(dateid - FIRST_DATEID);
        let seller = rng.gen_range(1..=USERS);
        let _ = writeln!(
            listing_text,
            "{id}|{seller}|{}|{dateid}|{tickets}|{price}.00|{}.00|2008-{m:02}-{d:02} {:02}:{:02}:{:02}",
            event + 1,
            tickets * price,
            rng.gen_range(0..24),
            rng.gen_range(0..60),
            rng.gen_range(0..60)
        );
        listings.push(Listing { seller, event, dateid, tickets, price });
    }
    out.push(("listings_pipe.txt", listing_text.into_bytes()));

    // Each sale takes tickets from one listing, never more than it still offers.
    let mut left: Vec<u32> = listings.iter().map(|l| l.tickets).collect();
    let mut sales = String::with_capacity(SALES * 72);
    let mut id = 0usize;
    while id < SALES {
        let l = rng.gen_range(0..LISTINGS);
        if left[l] == 0 {
            continue;
        }
        id += 1;
        let listing = &listings[l];
        let qty = rng.gen_range(1..=left[l].min(8));
        left[l] -= qty;
        let event_date = events[listing.event].dateid;
        let dateid = rng.gen_range(listing.dateid..=event_date.max(listing.dateid));
        let (m, d) = day_of_2008(dateid - FIRST_DATEID);
        let paid = qty * listing.price * 100;
        let commission = paid * 15 / 100;
        let _ = writeln!(
            sales,
            "{id}\t{}\t{}\t{}\t{}\t{dateid}\t{qty}\t{}.{:02}\t{}.{:02}\t{m}/{d}/2008 {:02}:{:02}:{:02}",
            l + 1,
            listing.seller,
            rng.gen_range(1..=USERS),
            listing.event + 1,
            paid / 100,
            paid % 100,
            commission / 100,
            commission % 100,
            rng.gen_range(0..24),
            rng.gen_range(0..60),
            rng.gen_range(0..60)
        );
    }
    out.push(("sales_tab.txt", sales.into_bytes()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_the_real_row_counts_and_is_the_same_every_time() {
        let a = files();
        let counts: Vec<(&str, usize)> =
            a.iter().map(|(n, b)| (*n, b.iter().filter(|c| **c == b'\n').count())).collect();
        assert_eq!(
            counts,
            vec![
                ("allusers_pipe.txt", USERS),
                ("venue_pipe.txt", VENUES),
                ("category_pipe.txt", CATEGORIES),
                ("date2008_pipe.txt", DATES),
                ("allevents_pipe.txt", EVENTS),
                ("listings_pipe.txt", LISTINGS),
                ("sales_tab.txt", SALES),
            ]
        );
        let b = files();
        assert!(a.iter().zip(&b).all(|(x, y)| x.1 == y.1));
        let sales = std::str::from_utf8(&a[6].1).unwrap();
        let first: Vec<&str> = sales.lines().next().unwrap().split('\t').collect();
        assert_eq!(first.len(), 10);
    }
}
