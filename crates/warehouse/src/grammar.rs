//! The grammar nuage parses Redshift SQL with: sqlparser's Redshift dialect, plus the GROUP BY
//! forms Redshift has and that dialect leaves out (ROLLUP, CUBE, GROUPING SETS). The parser
//! still sees the Redshift dialect wherever it asks which dialect it parses.
use datafusion::sql::sqlparser::dialect::{Dialect, RedshiftSqlDialect};
use std::any::TypeId;
use std::iter::Peekable;
use std::str::Chars;

#[derive(Debug, Default)]
pub struct Redshift;

const BASE: RedshiftSqlDialect = RedshiftSqlDialect {};

impl Dialect for Redshift {
    fn dialect(&self) -> TypeId {
        TypeId::of::<RedshiftSqlDialect>()
    }

    fn supports_group_by_expr(&self) -> bool {
        true
    }

    fn is_nested_delimited_identifier_start(&self, ch: char) -> bool {
        BASE.is_nested_delimited_identifier_start(ch)
    }

    fn peek_nested_delimited_identifier_quotes(&self, chars: Peekable<Chars<'_>>) -> Option<(char, Option<char>)> {
        BASE.peek_nested_delimited_identifier_quotes(chars)
    }

    fn is_identifier_start(&self, ch: char) -> bool {
        BASE.is_identifier_start(ch)
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        BASE.is_identifier_part(ch)
    }

    fn convert_type_before_value(&self) -> bool {
        BASE.convert_type_before_value()
    }

    fn supports_connect_by(&self) -> bool {
        BASE.supports_connect_by()
    }

    fn supports_top_before_distinct(&self) -> bool {
        BASE.supports_top_before_distinct()
    }

    fn supports_partiql(&self) -> bool {
        BASE.supports_partiql()
    }

    fn supports_string_escape_constant(&self) -> bool {
        BASE.supports_string_escape_constant()
    }

    fn supports_geometric_types(&self) -> bool {
        BASE.supports_geometric_types()
    }

    fn supports_bitwise_shift_operators(&self) -> bool {
        BASE.supports_bitwise_shift_operators()
    }

    fn supports_array_typedef_with_brackets(&self) -> bool {
        BASE.supports_array_typedef_with_brackets()
    }

    fn allow_extract_single_quotes(&self) -> bool {
        BASE.allow_extract_single_quotes()
    }

    fn supports_string_literal_backslash_escape(&self) -> bool {
        BASE.supports_string_literal_backslash_escape()
    }

    fn supports_select_wildcard_exclude(&self) -> bool {
        BASE.supports_select_wildcard_exclude()
    }

    fn supports_select_wildcard_with_alias(&self) -> bool {
        BASE.supports_select_wildcard_with_alias()
    }

    fn supports_select_exclude(&self) -> bool {
        BASE.supports_select_exclude()
    }

    fn supports_create_table_like_parenthesized(&self) -> bool {
        BASE.supports_create_table_like_parenthesized()
    }

    fn supports_string_literal_concatenation_with_newline(&self) -> bool {
        BASE.supports_string_literal_concatenation_with_newline()
    }

    fn supports_window_function_null_treatment_arg(&self) -> bool {
        BASE.supports_window_function_null_treatment_arg()
    }
}
