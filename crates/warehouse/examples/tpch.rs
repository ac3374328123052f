//! TPC-H data and queries for the warehouse's tests and benchmark:
//! `tpch data <scale factor> <dir>` writes the eight tables as `<table>.tbl` (`|`-separated,
//! dbgen's format); `tpch queries <dir>` writes `q1.sql` .. `q22.sql` with the specification's
//! validation parameters and row limits.
use std::io::{BufWriter, Write};
use std::path::Path;
use tpchgen::generators::*;

fn write_rows<T: std::fmt::Display>(dir: &Path, name: &str, rows: impl Iterator<Item = T>) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(dir.join(format!("{name}.tbl")))?);
    for r in rows {
        writeln!(w, "{r}")?;
    }
    w.flush()
}

/// The validation parameters of TPC-H's specification (clause 2.4), `:1`, `:2`, ... in order,
/// and the number of rows each query returns (clause 2.1.2.9).
const PARAMETERS: [(&[&str], Option<u32>); 22] = [
    (&["90"], None),
    (&["15", "BRASS", "EUROPE"], Some(100)),
    (&["BUILDING", "1995-03-15"], Some(10)),
    (&["1993-07-01"], None),
    (&["ASIA", "1994-01-01"], None),
    (&["1994-01-01", "0.06", "24"], None),
    (&["FRANCE", "GERMANY"], None),
    (&["BRAZIL", "AMERICA", "ECONOMY ANODIZED STEEL"], None),
    (&["green"], None),
    (&["1993-10-01"], Some(20)),
    (&["GERMANY", "0.0001"], None),
    (&["MAIL", "SHIP", "1994-01-01"], None),
    (&["special", "requests"], None),
    (&["1995-09-01"], None),
    (&["1996-01-01"], None),
    (&["Brand#45", "MEDIUM POLISHED", "49", "14", "23", "45", "19", "3", "36", "9"], None),
    (&["Brand#23", "MED BOX"], None),
    (&["300"], Some(100)),
    (&["Brand#12", "Brand#23", "Brand#34", "1", "10", "20"], None),
    (&["forest", "1994-01-01", "CANADA"], None),
    (&["SAUDI ARABIA"], Some(100)),
    (&["13", "31", "23", "29", "30", "18", "17"], None),
];

fn query(n: usize) -> String {
    let mut q = tpchgen::q_and_a::queries::query(n as i32).expect("1..=22").to_string();
    let (params, limit) = PARAMETERS[n - 1];
    // Higher-numbered markers first, so `:1` does not eat the start of `:10`.
    for (i, p) in params.iter().enumerate().rev() {
        q = q.replace(&format!(":{}", i + 1), p);
    }
    q = q.replace("revenue:s", "revenue0").replace(" day (3)", " day");
    let mut q = q.trim().trim_end_matches(';').to_string();
    if let Some(l) = limit {
        q.push_str(&format!("\nlimit {l}"));
    }
    q + ";\n"
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(|s| s.as_str()) {
        Some("data") if args.len() == 4 => {
            let sf: f64 = args[2].parse().expect("a scale factor");
            let dir = Path::new(&args[3]);
            std::fs::create_dir_all(dir)?;
            write_rows(dir, "nation", NationGenerator::new(sf, 1, 1).iter())?;
            write_rows(dir, "region", RegionGenerator::new(sf, 1, 1).iter())?;
            write_rows(dir, "part", PartGenerator::new(sf, 1, 1).iter())?;
            write_rows(dir, "supplier", SupplierGenerator::new(sf, 1, 1).iter())?;
            write_rows(dir, "partsupp", PartSuppGenerator::new(sf, 1, 1).iter())?;
            write_rows(dir, "customer", CustomerGenerator::new(sf, 1, 1).iter())?;
            write_rows(dir, "orders", OrderGenerator::new(sf, 1, 1).iter())?;
            write_rows(dir, "lineitem", LineItemGenerator::new(sf, 1, 1).iter())?;
            Ok(())
        }
        Some("queries") if args.len() == 3 => {
            let dir = Path::new(&args[2]);
            std::fs::create_dir_all(dir)?;
            for n in 1..=22 {
                std::fs::write(dir.join(format!("q{n}.sql")), query(n))?;
            }
            Ok(())
        }
        _ => {
            eprintln!("usage: tpch data <scale factor> <dir> | tpch queries <dir>");
            std::process::exit(2)
        }
    }
}
