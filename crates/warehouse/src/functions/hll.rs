//! HyperLogLog: HLL(expr) and HLL_CREATE_SKETCH(expr) over a group, HLL_COMBINE(sketch) over a
//! group, HLL_CARDINALITY(sketch) and HLL_COMBINE_SKETCHES(a, b). Sketches have 2^15
//! registers (Redshift's log m of 15) over a 64-bit hash of each value's text; they are
//! written as Redshift writes HLLSKETCH values: the sparse JSON form
//! `{"version":1,"logm":15,"sparse":{"indices":[...],"values":[...]}}` while few registers are
//! set, else the dense form (the registers, base64). Cardinalities use the HyperLogLog
//! estimate with linear counting below 2.5 m (within about a percent for small counts); they
//! are estimates like Redshift's, not its exact figures.
use super::row::{text, RowFunction};
use base64::Engine;
use datafusion::arrow::array::{ArrayRef, AsArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility};
use datafusion::prelude::SessionContext;
use serde_json::{json, Value as Json};
use std::hash::Hasher;
use std::sync::Arc;

const LOG_M: u32 = 15;
const M: usize = 1 << LOG_M;
/// Past this many set registers a sketch is written dense.
const SPARSE_LIMIT: usize = 4096;

#[derive(Debug, Clone)]
struct Sketch {
    registers: Vec<u8>,
}

impl Sketch {
    fn new() -> Sketch {
        Sketch { registers: vec![0; M] }
    }

    fn add(&mut self, value: &str) {
        let mut h = twox_hash::XxHash64::with_seed(0);
        h.write(value.as_bytes());
        let hash = h.finish();
        let index = (hash >> (64 - LOG_M)) as usize;
        let rest = hash << LOG_M;
        let rank = (rest.leading_zeros().min(64 - LOG_M) + 1) as u8;
        if rank > self.registers[index] {
            self.registers[index] = rank;
        }
    }

    fn merge(&mut self, other: &Sketch) {
        for (a, b) in self.registers.iter_mut().zip(&other.registers) {
            *a = (*a).max(*b);
        }
    }

    fn cardinality(&self) -> i64 {
        let m = M as f64;
        let zeros = self.registers.iter().filter(|r| **r == 0).count();
        let sum: f64 = self.registers.iter().map(|r| 2f64.powi(-i32::from(*r))).sum();
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let raw = alpha * m * m / sum;
        let estimate = if raw <= 2.5 * m && zeros > 0 { m * (m / zeros as f64).ln() } else { raw };
        estimate.round() as i64
    }

    fn to_text(&self) -> String {
        let set: Vec<(usize, u8)> =
            self.registers.iter().enumerate().filter(|(_, r)| **r > 0).map(|(i, r)| (i, *r)).collect();
        if set.len() <= SPARSE_LIMIT {
            let (indices, values): (Vec<usize>, Vec<u8>) = set.into_iter().unzip();
            json!({"version": 1, "logm": LOG_M, "sparse": {"indices": indices, "values": values}}).to_string()
        } else {
            base64::engine::general_purpose::STANDARD.encode(&self.registers)
        }
    }

    fn from_text(t: &str) -> Result<Sketch> {
        let bad = || super::row::sql_error("22023", "invalid HLLSKETCH value");
        let t = t.trim();
        let mut s = Sketch::new();
        if t.starts_with('{') {
            let j: Json = serde_json::from_str(t).map_err(|_| bad())?;
            if j["logm"].as_u64() != Some(u64::from(LOG_M)) {
                return Err(super::row::sql_error("0A000", "only sketches of logm 15 are supported"));
            }
            let indices = j["sparse"]["indices"].as_array().ok_or_else(bad)?;
            let values = j["sparse"]["values"].as_array().ok_or_else(bad)?;
            for (i, v) in indices.iter().zip(values) {
                let (Some(i), Some(v)) = (i.as_u64(), v.as_u64()) else { return Err(bad()) };
                let slot = s.registers.get_mut(i as usize).ok_or_else(bad)?;
                *slot = (*slot).max(v.min(64) as u8);
            }
        } else {
            let registers = base64::engine::general_purpose::STANDARD.decode(t).map_err(|_| bad())?;
            if registers.len() != M {
                return Err(bad());
            }
            s.registers = registers;
        }
        Ok(s)
    }
}

#[derive(Debug, PartialEq, Eq, Hash, Clone, Copy)]
enum Kind {
    /// HLL(expr): the estimate.
    Count,
    /// HLL_CREATE_SKETCH(expr): the sketch.
    Create,
    /// HLL_COMBINE(sketch): the union of the group's sketches.
    Combine,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct HllAggregate {
    kind: Kind,
    signature: Signature,
}

fn aggregate(kind: Kind) -> AggregateUDF {
    AggregateUDF::new_from_impl(HllAggregate { kind, signature: Signature::any(1, Volatility::Immutable) })
}

impl AggregateUDFImpl for HllAggregate {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Count => "hll",
            Kind::Create => "hll_create_sketch",
            Kind::Combine => "hll_combine",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(if self.kind == Kind::Count { DataType::Int64 } else { DataType::Utf8 })
    }

    /// A sketch's field says HLLSKETCH, so that a table created from it has that type.
    fn return_field(&self, args: &[FieldRef]) -> Result<FieldRef> {
        let ty = self.return_type(&args.iter().map(|f| f.data_type().clone()).collect::<Vec<_>>())?;
        let field = Field::new(self.name(), ty, true);
        Ok(Arc::new(if self.kind == Kind::Count {
            field
        } else {
            field.with_metadata(std::collections::HashMap::from([(
                crate::types::TYPE_KEY.to_string(),
                "hllsketch".to_string(),
            )]))
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(format!("{}[sketch]", args.name), DataType::Binary, true))])
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(SketchAccumulator { kind: self.kind, sketch: Sketch::new() }))
    }
}

#[derive(Debug)]
struct SketchAccumulator {
    kind: Kind,
    sketch: Sketch,
}

impl Accumulator for SketchAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let texts = cast(&values[0], &DataType::Utf8)?;
        let texts = texts.as_string::<i32>();
        for v in texts.iter().flatten() {
            match self.kind {
                Kind::Combine => self.sketch.merge(&Sketch::from_text(v)?),
                _ => self.sketch.add(v),
            }
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let states = states[0].as_binary::<i32>();
        for s in states.iter().flatten() {
            if s.len() != M {
                return exec_err!("hll: unexpected state");
            }
            self.sketch.merge(&Sketch { registers: s.to_vec() });
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Binary(Some(self.sketch.registers.clone()))])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(match self.kind {
            Kind::Count => ScalarValue::Int64(Some(self.sketch.cardinality())),
            _ => ScalarValue::Utf8(Some(self.sketch.to_text())),
        })
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + M
    }
}

pub fn register(ctx: &SessionContext) {
    for kind in [Kind::Count, Kind::Create, Kind::Combine] {
        ctx.register_udaf(aggregate(kind));
    }
    let sketch = || super::row::TEXT;
    ctx.register_udf(
        RowFunction::new("hll_cardinality", vec![vec![sketch()]], DataType::Int64, |a| {
            Ok(ScalarValue::Int64(Some(Sketch::from_text(text(&a[0]).unwrap_or_default())?.cardinality())))
        })
        .udf(),
    );
    ctx.register_udf(
        RowFunction::new("hll_combine_sketches", vec![vec![sketch(), sketch()]], DataType::Utf8, |a| {
            let mut s = Sketch::from_text(text(&a[0]).unwrap_or_default())?;
            s.merge(&Sketch::from_text(text(&a[1]).unwrap_or_default())?);
            Ok(ScalarValue::Utf8(Some(s.to_text())))
        })
        .udf(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_and_round_trips() {
        let mut s = Sketch::new();
        for i in 0..1000 {
            s.add(&(i % 400).to_string());
        }
        let n = s.cardinality();
        assert!((390..=410).contains(&n), "{n}");
        assert_eq!(Sketch::from_text(&s.to_text()).unwrap().registers, s.registers);
        let mut big = Sketch::new();
        for i in 0..200_000 {
            big.add(&i.to_string());
        }
        let n = big.cardinality() as f64;
        assert!((n - 200_000.0).abs() / 200_000.0 < 0.03, "{n}");
        assert!(!big.to_text().starts_with('{'));
        assert_eq!(Sketch::from_text(&big.to_text()).unwrap().cardinality(), big.cardinality());
    }
}
