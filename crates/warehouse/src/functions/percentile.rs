//! PERCENTILE_DISC(p) WITHIN GROUP (ORDER BY x): the first value, in the group's order, whose
//! cumulative distribution reaches p (APPROXIMATE PERCENTILE_DISC is answered exactly).
//! DataFusion has PERCENTILE_CONT only.
use datafusion::arrow::array::{Array, ArrayRef, ListArray};
use datafusion::arrow::datatypes::Schema;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::ColumnarValue;
use datafusion::logical_expr::{Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility};
use std::sync::Arc;

#[derive(Debug, PartialEq, Eq, Hash)]
struct PercentileDisc {
    signature: Signature,
}

/// `percentile_disc(x, p [, descending])`: the window form the dialect writes for
/// `PERCENTILE_DISC(p) WITHIN GROUP (ORDER BY x [DESC]) OVER (...)`.
pub fn udaf() -> AggregateUDF {
    use datafusion::logical_expr::TypeSignature;
    let signature = Signature::one_of(vec![TypeSignature::Any(2), TypeSignature::Any(3)], Volatility::Immutable);
    AggregateUDF::new_from_impl(PercentileDisc { signature })
}

impl AggregateUDFImpl for PercentileDisc {
    fn name(&self) -> &str {
        "percentile_disc"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(args[0].clone())
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let item = Field::new_list_field(args.input_fields[0].data_type().clone(), true);
        Ok(vec![Arc::new(Field::new(format!("{}[values]", args.name), DataType::List(Arc::new(item)), true))])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        // The percentile is a constant: evaluated without any row.
        let empty = RecordBatch::new_empty(Arc::new(Schema::empty()));
        let fraction = match args.exprs[1].evaluate(&empty) {
            Ok(ColumnarValue::Scalar(s)) => s.cast_to(&DataType::Float64).ok(),
            _ => None,
        };
        let fraction = fraction.and_then(|v| match v {
            ScalarValue::Float64(Some(f)) => Some(f),
            _ => None,
        });
        let Some(fraction) = fraction.filter(|f| (0.0..=1.0).contains(f)) else {
            return exec_err!("PERCENTILE_DISC's percentile must be a constant between 0 and 1");
        };
        let flagged = args
            .exprs
            .get(2)
            .is_some_and(|e| matches!(e.evaluate(&empty), Ok(ColumnarValue::Scalar(ScalarValue::Boolean(Some(true))))));
        let descending = flagged || args.order_bys.first().is_some_and(|s| s.options.descending);
        Ok(Box::new(Values { fraction, descending, data_type: args.return_field.data_type().clone(), values: vec![] }))
    }

    fn supports_within_group_clause(&self) -> bool {
        true
    }
}

#[derive(Debug)]
struct Values {
    fraction: f64,
    descending: bool,
    data_type: DataType,
    values: Vec<ScalarValue>,
}

impl Accumulator for Values {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let a = &values[0];
        for i in 0..a.len() {
            if a.is_valid(i) {
                self.values.push(ScalarValue::try_from_array(a, i)?);
            }
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let Some(lists) = states[0].as_any().downcast_ref::<ListArray>() else {
            return exec_err!("percentile_disc: unexpected state");
        };
        for i in 0..lists.len() {
            if lists.is_valid(i) {
                self.update_batch(&[lists.value(i)])?;
            }
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let list = ScalarValue::new_list_nullable(&self.values, &self.data_type);
        Ok(vec![ScalarValue::List(list)])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        if self.values.is_empty() {
            return ScalarValue::try_from(&self.data_type);
        }
        self.values.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        if self.descending {
            self.values.reverse();
        }
        let n = self.values.len();
        let position = ((self.fraction * n as f64).ceil() as usize).clamp(1, n) - 1;
        Ok(self.values[position].clone())
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.values.iter().map(ScalarValue::size).sum::<usize>()
    }
}
