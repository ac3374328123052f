//! AVG with Redshift's result types: BIGINT for integer arguments (the average truncated, so
//! AVG of 1 and 2 is 1), DECIMAL(38, s) for a DECIMAL(p, s) (rounded to the argument's
//! scale), DOUBLE PRECISION for floats. DataFusion's AVG answers a DOUBLE for integers and
//! widens a decimal's scale by 4; its accumulators are reused and their answer cast: integers
//! are averaged as microsecond durations (DataFusion's integer-division average, with its
//! grouped accumulator) and read back as BIGINT.
use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, TimeUnit};
use datafusion::common::{exec_err, Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, ReversedUDAF, Signature, Volatility,
};
use std::collections::HashSet;
use std::sync::Arc;

/// How integers travel through DataFusion's AVG.
const AS_DURATION: DataType = DataType::Duration(TimeUnit::Microsecond);

#[derive(Debug, PartialEq, Eq, Hash)]
struct RedshiftAvg {
    signature: Signature,
}

pub fn udaf() -> AggregateUDF {
    AggregateUDF::new_from_impl(RedshiftAvg { signature: Signature::user_defined(Volatility::Immutable) })
}

fn inner() -> Arc<AggregateUDF> {
    datafusion::functions_aggregate::average::avg_udaf()
}

/// The type DataFusion's AVG answers for `input`, which is cast to Redshift's afterwards.
fn inner_type(input: &DataType) -> DataType {
    match input {
        DataType::Decimal128(p, s) => DataType::Decimal128((*p + 4).min(38), (*s + 4).min(38)),
        other if *other == AS_DURATION => AS_DURATION,
        _ => DataType::Float64,
    }
}

/// DataFusion's AVG with the return type it computes for `input`.
fn inner_args<'a>(args: &AccumulatorArgs<'a>, input: &DataType) -> AccumulatorArgs<'a> {
    let mut a = args.clone();
    a.return_field = Arc::new(Field::new(args.return_field.name(), inner_type(input), true));
    a
}

impl AggregateUDFImpl for RedshiftAvg {
    fn name(&self) -> &str {
        "avg"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> Result<Vec<DataType>> {
        let [t] = args else {
            return exec_err!("avg takes one argument");
        };
        Ok(vec![match t {
            t if t.is_integer() || *t == AS_DURATION => AS_DURATION,
            DataType::Decimal128(..) => t.clone(),
            DataType::Decimal32(p, s) | DataType::Decimal64(p, s) => DataType::Decimal128(*p, *s),
            t if t.is_numeric() || *t == DataType::Null => DataType::Float64,
            // Text holding numbers is read as DOUBLE PRECISION, as PostgreSQL reads it.
            DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => DataType::Float64,
            other => return exec_err!("function avg({other}) does not exist"),
        }])
    }

    fn return_type(&self, args: &[DataType]) -> Result<DataType> {
        Ok(match &args[0] {
            t if *t == AS_DURATION => DataType::Int64,
            DataType::Decimal128(_, s) => DataType::Decimal128(38, *s),
            _ => DataType::Float64,
        })
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let input = args.expr_fields[0].data_type().clone();
        if input == AS_DURATION && args.is_distinct {
            return Ok(Box::new(DistinctIntAvg::default()));
        }
        let target = args.return_field.data_type().clone();
        let inner = inner().accumulator(inner_args(&args, &input))?;
        Ok(if inner_type(&input) == target { inner } else { Box::new(CastResult { inner, target }) })
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let input = args.input_fields[0].data_type().clone();
        if input == AS_DURATION && args.is_distinct {
            let item = Field::new_list_field(DataType::Int64, true);
            let name = format_state_name(args.name, "avg distinct");
            return Ok(vec![Arc::new(Field::new(name, DataType::List(Arc::new(item)), true))]);
        }
        let return_field = Arc::new(Field::new(args.return_field.name(), inner_type(&input), true));
        inner().inner().state_fields(StateFieldsArgs { return_field, ..args })
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        let input = args.expr_fields[0].data_type().clone();
        !args.is_distinct && inner().groups_accumulator_supported(inner_args(&args, &input))
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        let input = args.expr_fields[0].data_type().clone();
        let target = args.return_field.data_type().clone();
        let inner = inner().create_groups_accumulator(inner_args(&args, &input))?;
        Ok(if inner_type(&input) == target { inner } else { Box::new(GroupsCastResult { inner, target }) })
    }

    fn reverse_expr(&self) -> ReversedUDAF {
        ReversedUDAF::Identical
    }
}

/// DataFusion's average cast to Redshift's type: a duration read back as the BIGINT it
/// stands for, a decimal rounded to its argument's scale.
#[derive(Debug)]
struct CastResult {
    inner: Box<dyn Accumulator>,
    target: DataType,
}

fn cast_array(a: &ArrayRef, target: &DataType) -> Result<ArrayRef> {
    Ok(match a.data_type() {
        DataType::Duration(TimeUnit::Microsecond) => {
            let micros = a.as_primitive::<datafusion::arrow::datatypes::DurationMicrosecondType>();
            let ints: datafusion::arrow::array::Int64Array = micros.iter().collect();
            Arc::new(ints)
        }
        _ => cast(a, target)?,
    })
}

impl Accumulator for CastResult {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.inner.update_batch(values)
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        let v = self.inner.evaluate()?.to_array()?;
        ScalarValue::try_from_array(&cast_array(&v, &self.target)?, 0)
    }
    fn size(&self) -> usize {
        self.inner.size()
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        self.inner.state()
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.inner.merge_batch(states)
    }
    fn retract_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.inner.retract_batch(values)
    }
    fn supports_retract_batch(&self) -> bool {
        self.inner.supports_retract_batch()
    }
}

struct GroupsCastResult {
    inner: Box<dyn GroupsAccumulator>,
    target: DataType,
}

impl GroupsAccumulator for GroupsCastResult {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.inner.update_batch(values, group_indices, opt_filter, total_num_groups)
    }
    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        cast_array(&self.inner.evaluate(emit_to)?, &self.target)
    }
    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        self.inner.state(emit_to)
    }
    fn merge_batch(&mut self, values: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        self.inner.merge_batch(values, group_indices, total_num_groups)
    }
    fn size(&self) -> usize {
        self.inner.size()
    }
    fn convert_to_state(&self, values: &[ArrayRef], opt_filter: Option<&BooleanArray>) -> Result<Vec<ArrayRef>> {
        self.inner.convert_to_state(values, opt_filter)
    }
}

/// AVG(DISTINCT integer): the distinct values, averaged with truncation.
#[derive(Debug, Default)]
struct DistinctIntAvg {
    values: HashSet<i64>,
}

impl Accumulator for DistinctIntAvg {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let v = cast(&values[0], &DataType::Int64)?;
        self.values.extend(v.as_primitive::<datafusion::arrow::datatypes::Int64Type>().iter().flatten());
        Ok(())
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        if self.values.is_empty() {
            return Ok(ScalarValue::Int64(None));
        }
        let sum: i128 = self.values.iter().map(|v| i128::from(*v)).sum();
        Ok(ScalarValue::Int64(Some((sum / self.values.len() as i128) as i64)))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.values.capacity() * 8
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let items: Vec<ScalarValue> = self.values.iter().map(|v| ScalarValue::Int64(Some(*v))).collect();
        Ok(vec![ScalarValue::List(ScalarValue::new_list_nullable(&items, &DataType::Int64))])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let lists = states[0].as_list::<i32>();
        for i in 0..lists.len() {
            if lists.is_valid(i) {
                self.update_batch(&[lists.value(i)])?;
            }
        }
        Ok(())
    }
}
