//! SUPER: semi-structured values kept as JSON text (an Arrow Utf8 column whose field says
//! `super`), navigated with PartiQL's dot and bracket (`c.payload.items[0].sku`) in lax mode
//! (a missing member is NULL), and compared or cast by their dynamic type: a SUPER string
//! equals a VARCHAR, a SUPER number compares with numbers, a mismatch is NULL, as on Redshift.
use crate::types::TYPE_KEY;
use datafusion::arrow::array::{
    ArrayRef, AsArray, BooleanBuilder, Float64Builder, Int32Builder, StringArray, StringBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{exec_err, DFSchema, Result, ScalarValue};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawFieldAccessExpr};
use datafusion::logical_expr::{
    BinaryExpr, Cast, ColumnarValue, Expr, ExprSchemable, GetFieldAccess, LogicalPlan, Operator, ReturnFieldArgs,
    ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::optimizer::AnalyzerRule;
use datafusion::prelude::SessionContext;
use serde_json::Value as Json;
use std::collections::HashMap;
use std::sync::Arc;

/// Registers SUPER's functions, its navigation (ahead of DataFusion's struct access) and the
/// rule that compares and casts SUPER values by their dynamic type.
pub fn register(ctx: &SessionContext) {
    for (kind, _) in FUNCTIONS {
        ctx.register_udf(ScalarUDF::new_from_impl(SuperFn::new(*kind)));
    }
    let state = ctx.state_ref();
    let existing = state.read().clone();
    let mut planners: Vec<Arc<dyn ExprPlanner>> = vec![Arc::new(Navigation)];
    planners.extend(existing.expr_planners().iter().cloned());
    let new_state = SessionStateBuilder::new_from_existing(existing).with_expr_planners(planners).build();
    *state.write() = new_state;
    // Before DataFusion's type coercion, which would compare a SUPER's JSON text instead.
    let existing = state.read().clone();
    let mut rules: Vec<Arc<dyn AnalyzerRule + Send + Sync>> = vec![Arc::new(DynamicTyping)];
    rules.extend(existing.analyzer().rules.iter().cloned());
    let new_state = SessionStateBuilder::new_from_existing(existing).with_analyzer_rules(rules).build();
    *state.write() = new_state;
}

fn is_super_field(f: &Field) -> bool {
    f.metadata().get(TYPE_KEY).is_some_and(|t| t == "super")
}

/// A call of a function whose value is SUPER: JSON_PARSE, navigation, an unnested element.
fn is_super_call(e: &Expr) -> bool {
    matches!(e, Expr::ScalarFunction(f)
        if matches!(f.func.name(), "super_get" | "json_parse" | "as_super")
            || crate::super_functions::SUPER_VALUED.contains(&f.func.name()))
}

/// A SUPER column, or a value of JSON_PARSE or of navigation. (Function results carry no
/// field metadata: DataFusion refuses VALUES lists whose rows' metadata differ.)
fn is_super(e: &Expr, schema: &DFSchema) -> bool {
    match e {
        Expr::ScalarFunction(_) => is_super_call(e),
        Expr::Alias(a) => is_super(&a.expr, schema),
        _ => e.to_field(schema).map(|(_, f)| is_super_field(&f)).unwrap_or(false),
    }
}

/// What each SUPER function does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// JSON_PARSE(varchar) → SUPER.
    Parse,
    /// JSON_SERIALIZE(super) → VARCHAR.
    Serialize,
    /// super_get(value, member or index, ...) → SUPER: what navigation plans.
    Get,
    /// The value if it is a string (for comparisons with and casts to VARCHAR).
    AsString,
    /// The value if it is a number.
    AsNumber,
    /// The value if it is a boolean.
    AsBoolean,
    /// JSON_TYPEOF(super) → 'object', 'array', 'string', 'number', 'boolean' or 'null'.
    TypeOf,
    IsArray,
    IsObject,
    IsScalar,
    /// GET_ARRAY_LENGTH(super) → INTEGER.
    ArrayLength,
    /// The elements of an array as a list (NULL for anything else): what PartiQL's
    /// `FROM t AS c, c.array AS e` unnests.
    Elements,
    /// The positions of an array's elements (0, 1, ...): PartiQL's `AT index`.
    Indexes,
    /// Its argument, typed SUPER: the column an unnested element becomes.
    Mark,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct SuperFn {
    kind: Kind,
    name: &'static str,
    signature: Signature,
}

/// Each function and its SQL name.
const FUNCTIONS: &[(Kind, &str)] = &[
    (Kind::Parse, "json_parse"),
    (Kind::Serialize, "json_serialize"),
    (Kind::Get, "super_get"),
    (Kind::AsString, "super_as_varchar"),
    (Kind::AsNumber, "super_as_float8"),
    (Kind::AsBoolean, "super_as_boolean"),
    (Kind::TypeOf, "json_typeof"),
    (Kind::IsArray, "is_array"),
    (Kind::IsObject, "is_object"),
    (Kind::IsScalar, "is_scalar"),
    (Kind::ArrayLength, "get_array_length"),
    (Kind::Elements, "super_elements"),
    (Kind::Indexes, "super_indexes"),
    (Kind::Mark, "as_super"),
];

impl SuperFn {
    fn new(kind: Kind) -> SuperFn {
        let name = FUNCTIONS.iter().find(|(k, _)| *k == kind).map(|(_, n)| *n).expect("every kind is listed");
        SuperFn { kind, name, signature: Signature::variadic_any(Volatility::Immutable) }
    }

    fn output(&self) -> DataType {
        match self.kind {
            Kind::Parse | Kind::Get | Kind::Serialize | Kind::AsString | Kind::TypeOf | Kind::Mark => DataType::Utf8,
            Kind::Elements => DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
            Kind::Indexes => DataType::List(Arc::new(Field::new_list_field(DataType::Int32, true))),
            Kind::AsNumber => DataType::Float64,
            Kind::AsBoolean | Kind::IsArray | Kind::IsObject | Kind::IsScalar => DataType::Boolean,
            Kind::ArrayLength => DataType::Int32,
        }
    }
}

/// A SUPER text as JSON; text that is not JSON is a string (a VARCHAR stored in SUPER).
fn json_of(text: &str) -> Json {
    serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.to_string()))
}

/// One navigation step: a member (exactly, else ignoring case, as unquoted names are folded)
/// or an array index. Lax: anything else is missing.
fn step<'a>(v: &'a Json, key: &ScalarValue) -> Option<&'a Json> {
    match (v, key) {
        (
            Json::Object(m),
            ScalarValue::Utf8(Some(k)) | ScalarValue::Utf8View(Some(k)) | ScalarValue::LargeUtf8(Some(k)),
        ) => m.get(k).or_else(|| m.iter().find(|(name, _)| name.eq_ignore_ascii_case(k)).map(|(_, v)| v)),
        (Json::Array(a), k) => {
            let i = match k {
                ScalarValue::Int64(Some(i)) => *i,
                ScalarValue::Int32(Some(i)) => *i as i64,
                ScalarValue::UInt64(Some(i)) => *i as i64,
                _ => return None,
            };
            usize::try_from(i).ok().and_then(|i| a.get(i))
        }
        _ => None,
    }
}

impl ScalarUDFImpl for SuperFn {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> Result<DataType> {
        Ok(self.output())
    }

    fn return_field_from_args(&self, _args: ReturnFieldArgs) -> Result<FieldRef> {
        let field = Field::new(self.name, self.output(), true);
        Ok(Arc::new(match self.kind {
            // Only here: a VALUES list refuses rows whose fields' metadata differ.
            Kind::Mark => field.with_metadata(HashMap::from([(TYPE_KEY.to_string(), "super".to_string())])),
            _ => field,
        }))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let n = args.number_rows;
        let Some(first) = args.args.first() else {
            return exec_err!("{} expects an argument", self.name);
        };
        let values = datafusion::arrow::compute::cast(&first.to_array(n)?, &DataType::Utf8)?;
        let values: &StringArray = values.as_string::<i32>();
        // Navigation keys are constants (the path written in the query).
        let path: Vec<ScalarValue> = args.args[1..]
            .iter()
            .map(|a| match a {
                ColumnarValue::Scalar(s) => Ok(s.clone()),
                ColumnarValue::Array(_) => exec_err!("a SUPER path step must be a constant"),
            })
            .collect::<Result<_>>()?;
        let out: ArrayRef = match self.kind {
            Kind::Parse => {
                let mut b = StringBuilder::new();
                for v in values.iter() {
                    match v {
                        None => b.append_null(),
                        Some(text) => match serde_json::from_str::<Json>(text) {
                            // A number keeps how it was written: IS_FLOAT tells 1.5e0 from 1.5.
                            Ok(Json::Number(_)) => b.append_value(text.trim()),
                            Ok(j) => b.append_value(j.to_string()),
                            Err(e) => return exec_err!("JSON parsing error: {e}"),
                        },
                    }
                }
                Arc::new(b.finish())
            }
            Kind::Serialize | Kind::Mark => Arc::new(values.clone()),
            Kind::Elements => {
                let mut b = datafusion::arrow::array::ListBuilder::new(StringBuilder::new());
                for v in values.iter() {
                    match v.map(json_of) {
                        Some(Json::Array(items)) => {
                            for item in items {
                                b.values().append_value(item.to_string());
                            }
                            b.append(true);
                        }
                        _ => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
            Kind::Get => {
                let mut b = StringBuilder::new();
                for v in values.iter() {
                    let j = v.map(json_of);
                    let found = j.as_ref().and_then(|j| path.iter().try_fold(j, |cur, key| step(cur, key)));
                    match found {
                        Some(Json::Null) | None => b.append_null(),
                        Some(x) => b.append_value(x.to_string()),
                    }
                }
                Arc::new(b.finish())
            }
            Kind::AsString | Kind::TypeOf => {
                let mut b = StringBuilder::new();
                for v in values.iter() {
                    let j = v.map(json_of);
                    match (self.kind, j) {
                        (Kind::AsString, Some(Json::String(s))) => b.append_value(s),
                        (Kind::TypeOf, Some(j)) => b.append_value(match j {
                            Json::Object(_) => "object",
                            Json::Array(_) => "array",
                            Json::String(_) => "string",
                            Json::Number(_) => "number",
                            Json::Bool(_) => "boolean",
                            Json::Null => "null",
                        }),
                        _ => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
            Kind::AsNumber => {
                let mut b = Float64Builder::new();
                for v in values.iter() {
                    b.append_option(v.map(json_of).and_then(|j| j.as_f64()));
                }
                Arc::new(b.finish())
            }
            Kind::AsBoolean | Kind::IsArray | Kind::IsObject | Kind::IsScalar => {
                let mut b = BooleanBuilder::new();
                for v in values.iter() {
                    let j = v.map(json_of);
                    b.append_option(j.and_then(|j| match self.kind {
                        Kind::AsBoolean => j.as_bool(),
                        Kind::IsArray => Some(j.is_array()),
                        Kind::IsObject => Some(j.is_object()),
                        _ => Some(!j.is_array() && !j.is_object()),
                    }));
                }
                Arc::new(b.finish())
            }
            Kind::Indexes => {
                let mut b = datafusion::arrow::array::ListBuilder::new(Int32Builder::new());
                for v in values.iter() {
                    match v.map(json_of) {
                        Some(Json::Array(items)) => {
                            for i in 0..items.len() {
                                b.values().append_value(i as i32);
                            }
                            b.append(true);
                        }
                        _ => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
            Kind::ArrayLength => {
                let mut b = Int32Builder::new();
                for v in values.iter() {
                    b.append_option(v.map(json_of).and_then(|j| j.as_array().map(|a| a.len() as i32)));
                }
                Arc::new(b.finish())
            }
        };
        if scalar {
            Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(&out, 0)?))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }
}

fn call(kind: Kind, args: Vec<Expr>) -> Expr {
    Expr::ScalarFunction(ScalarFunction::new_udf(Arc::new(ScalarUDF::new_from_impl(SuperFn::new(kind))), args))
}

/// `value.member` and `value[index]` on SUPER values become one `super_get` with the path.
#[derive(Debug)]
struct Navigation;

impl Navigation {
    /// Extends the path of a navigation already planned, or starts one.
    fn navigate(base: Expr, step: Expr) -> Expr {
        match base {
            Expr::ScalarFunction(f) if f.func.name() == "super_get" => {
                let mut args = f.args;
                args.push(step);
                call(Kind::Get, args)
            }
            other => call(Kind::Get, vec![other, step]),
        }
    }
}

impl ExprPlanner for Navigation {
    fn plan_compound_identifier(
        &self,
        field: &Field,
        qualifier: Option<&datafusion::common::TableReference>,
        nested_names: &[String],
    ) -> Result<PlannerResult<Vec<Expr>>> {
        if !is_super_field(field) {
            return Ok(PlannerResult::Original(vec![]));
        }
        let mut args = vec![Expr::Column(datafusion::common::Column::from((qualifier, field)))];
        args.extend(nested_names.iter().map(|n| Expr::Literal(ScalarValue::Utf8(Some(n.clone())), None)));
        Ok(PlannerResult::Planned(call(Kind::Get, args)))
    }

    fn plan_field_access(
        &self,
        expr: RawFieldAccessExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<RawFieldAccessExpr>> {
        if !is_super(&expr.expr, schema) {
            return Ok(PlannerResult::Original(expr));
        }
        let step = match &expr.field_access {
            GetFieldAccess::NamedStructField { name } => Expr::Literal(name.clone(), None),
            GetFieldAccess::ListIndex { key } => match key.as_ref() {
                Expr::Literal(ScalarValue::Utf8(Some(s)), _) => Expr::Literal(ScalarValue::Utf8(Some(s.clone())), None),
                k => Expr::Cast(Cast::new(Box::new(k.clone()), DataType::Int64)),
            },
            GetFieldAccess::ListRange { .. } => return Ok(PlannerResult::Original(expr)),
        };
        Ok(PlannerResult::Planned(Navigation::navigate(expr.expr, step)))
    }
}

/// Compares and casts SUPER values by their dynamic type (after DataFusion's coercion has
/// made both sides text or cast the SUPER side).
#[derive(Debug)]
struct DynamicTyping;

impl DynamicTyping {
    fn rewrite(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
        match e {
            // A cast of a SUPER value reads the scalar of the target's kind.
            Expr::Cast(Cast { expr, field }) if is_super(&expr, schema) => {
                let inner = match field.data_type() {
                    t if t.is_numeric() => call(Kind::AsNumber, vec![*expr]),
                    DataType::Boolean => call(Kind::AsBoolean, vec![*expr]),
                    DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => {
                        // A string without its quotes; other values as their JSON text.
                        let text = call(Kind::AsString, vec![(*expr).clone()]);
                        Expr::ScalarFunction(ScalarFunction::new_udf(
                            datafusion::functions::core::coalesce(),
                            vec![text, call(Kind::Serialize, vec![*expr])],
                        ))
                    }
                    _ => *expr,
                };
                Ok(Transformed::yes(Expr::Cast(Cast::new_from_field(Box::new(inner), field))))
            }
            // SUPER compared with a typed value reads the scalar of that type: a SUPER string
            // equals a VARCHAR, a SUPER number compares with numbers; a mismatch is NULL.
            Expr::BinaryExpr(BinaryExpr { left, op, right })
                if matches!(
                    op,
                    Operator::Eq | Operator::NotEq | Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq
                ) =>
            {
                let (ls, rs) = (is_super(&left, schema), is_super(&right, schema));
                if ls == rs {
                    return Ok(Transformed::no(Expr::BinaryExpr(BinaryExpr { left, op, right })));
                }
                let other_type = if ls { right.get_type(schema)? } else { left.get_type(schema)? };
                let kind = match other_type {
                    t if t.is_numeric() => Kind::AsNumber,
                    DataType::Boolean => Kind::AsBoolean,
                    _ => Kind::AsString,
                };
                let read = |side: Box<Expr>| Box::new(call(kind, vec![*side]));
                let (left, right) = if ls { (read(left), right) } else { (left, read(right)) };
                Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr { left, op, right })))
            }
            // Plain SQL values given to SUPER functions (ARRAY(1, 'a'), ARRAY_CONTAINS(a, 'x'))
            // become JSON; SUPER arguments are JSON already.
            Expr::ScalarFunction(mut f) => {
                let positions = crate::super_functions::value_arguments(f.func.name(), f.args.len());
                let mut changed = false;
                for i in positions {
                    if !is_super(&f.args[i], schema) {
                        let arg = std::mem::replace(&mut f.args[i], Expr::Literal(ScalarValue::Null, None));
                        f.args[i] = Expr::ScalarFunction(ScalarFunction::new_udf(
                            Arc::new(crate::super_functions::to_super()),
                            vec![arg],
                        ));
                        changed = true;
                    }
                }
                Ok(if changed {
                    Transformed::yes(Expr::ScalarFunction(f))
                } else {
                    Transformed::no(Expr::ScalarFunction(f))
                })
            }
            other => Ok(Transformed::no(other)),
        }
    }
}

impl AnalyzerRule for DynamicTyping {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| {
            // Most plans hold no SUPER value: their nodes are passed over untouched.
            let super_input = node.inputs().iter().any(|i| i.schema().fields().iter().any(|f| is_super_field(f)));
            let super_call = node.expressions().iter().any(|e| e.exists(|e| Ok(is_super_call(e))).unwrap_or(false));
            if node.inputs().is_empty() || !(super_input || super_call) {
                return Ok(Transformed::no(node));
            }
            let schema = datafusion::logical_expr::utils::merge_schema(&node.inputs());
            node.map_expressions(|e| e.transform_up(|e| DynamicTyping::rewrite(e, &schema)))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "redshift_super_dynamic_typing"
    }
}
