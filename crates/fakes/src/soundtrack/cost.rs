//! What a request costs, computed from the document alone (never from the data returned), by the
//! rule that reproduces Soundtrack's worked example (§3 of the reference: 211 tokens):
//!
//! - every object- or connection-valued field costs 1 × the product of the `first` (or `last`)
//!   values of the connections enclosing it, and a connection also multiplies by its own `first`
//!   (1 when it has neither `first` nor `last`);
//! - scalars, enums, `__typename` and the `edges` / `node` / `pageInfo` wrappers are free;
//! - fragments count where they are spread, whether or not they match at run time (a union's
//!   branches are all paid for), and aliased fields count once per alias;
//! - a mutation costs 1 per root field, whatever it selects.

use super::schema::Schema;
use super::validate::{Fragments, OpKind, Operation};
use graphql_parser::query::{Field, Selection, SelectionSet, TypeCondition};
use serde_json::{Map, Value as Json};

pub(crate) fn operation_cost(
    schema: &Schema,
    op: &Operation<'_>,
    fragments: &Fragments<'_>,
    vars: &Map<String, Json>,
) -> u64 {
    let walker = Walker { schema, fragments, vars };
    match op.kind {
        OpKind::Mutation => walker.root_fields(op.selection, &mut Vec::new()),
        OpKind::Query | OpKind::Subscription => walker.set("Query", op.selection, 1, &mut Vec::new()),
    }
}

struct Walker<'a, 'd> {
    schema: &'a Schema,
    fragments: &'a Fragments<'d>,
    vars: &'a Map<String, Json>,
}

impl Walker<'_, '_> {
    fn root_fields(&self, set: &SelectionSet<'_, String>, spreading: &mut Vec<String>) -> u64 {
        let mut total = 0u64;
        for item in &set.items {
            total = total.saturating_add(match item {
                Selection::Field(f) => u64::from(f.name != "__typename"),
                Selection::InlineFragment(i) => self.root_fields(&i.selection_set, spreading),
                Selection::FragmentSpread(s) => match self.fragments.get(s.fragment_name.as_str()) {
                    Some(frag) if !spreading.contains(&s.fragment_name) => {
                        spreading.push(s.fragment_name.clone());
                        let cost = self.root_fields(&frag.selection_set, spreading);
                        spreading.pop();
                        cost
                    }
                    _ => 0,
                },
            });
        }
        total
    }

    fn set(&self, parent: &str, set: &SelectionSet<'_, String>, multiplier: u64, spreading: &mut Vec<String>) -> u64 {
        let mut total = 0u64;
        for item in &set.items {
            let cost = match item {
                Selection::Field(f) => self.field(parent, f, multiplier, spreading),
                Selection::InlineFragment(i) => {
                    let on = match &i.type_condition {
                        Some(TypeCondition::On(name)) => name.as_str(),
                        None => parent,
                    };
                    self.set(on, &i.selection_set, multiplier, spreading)
                }
                Selection::FragmentSpread(s) => match self.fragments.get(s.fragment_name.as_str()) {
                    Some(frag) if !spreading.contains(&s.fragment_name) => {
                        let TypeCondition::On(on) = &frag.type_condition;
                        spreading.push(s.fragment_name.clone());
                        let cost = self.set(on, &frag.selection_set, multiplier, spreading);
                        spreading.pop();
                        cost
                    }
                    _ => 0,
                },
            };
            total = total.saturating_add(cost);
        }
        total
    }

    fn field(&self, parent: &str, f: &Field<'_, String>, multiplier: u64, spreading: &mut Vec<String>) -> u64 {
        let Some(def) = self.schema.field(parent, &f.name) else {
            return 0;
        };
        let child = def.ty.named();
        if self.schema.is_leaf(child) {
            return 0;
        }
        let wrapper = matches!(f.name.as_str(), "edges" | "node" | "pageInfo")
            && (parent.ends_with("Connection") || parent.ends_with("Edge"));
        if wrapper {
            return self.set(child, &f.selection_set, multiplier, spreading);
        }
        let multiplier =
            if child.ends_with("Connection") { multiplier.saturating_mul(self.page_size(f)) } else { multiplier };
        multiplier.saturating_add(self.set(child, &f.selection_set, multiplier, spreading))
    }

    fn page_size(&self, f: &Field<'_, String>) -> u64 {
        ["first", "last"]
            .iter()
            .find_map(|name| {
                let (_, value) = f.arguments.iter().find(|(n, _)| n == name)?;
                super::validate::value_json(value, self.vars)?.as_u64()
            })
            .unwrap_or(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soundtrack::validate::select_operation;

    fn cost_of(query: &str, vars: Json) -> anyhow::Result<u64> {
        let schema = Schema::load()?;
        let doc = graphql_parser::parse_query::<String>(query)?;
        let (op, fragments) = select_operation(&doc, None).map_err(|e| anyhow::anyhow!(e.message))?;
        let vars = vars.as_object().cloned().unwrap_or_default();
        Ok(operation_cost(&schema, &op, &fragments, &vars))
    }

    #[test]
    fn the_documented_example_costs_211() -> anyhow::Result<()> {
        let q = r#"{ account(id: "x") { locations(first: 10) { edges { node {
            soundZones(first: 10) { edges { node { device { id } } } } } } } } }"#;
        assert_eq!(cost_of(q, Json::Null)?, 211);
        Ok(())
    }

    #[test]
    fn page_sizes_come_from_variables_and_aliases_each_count() -> anyhow::Result<()> {
        let q = r#"query($n: Int) { a0: account(id: "x") { soundZones(first: $n) { total edges { node { id name } } } }
                    a1: account(id: "y") { businessName } }"#;
        assert_eq!(cost_of(q, serde_json::json!({"n": 100}))?, 1 + 100 + 1);
        let fragment = r#"query { me { ... on PublicAPIClient { ...Accounts } } }
            fragment Accounts on PublicAPIClient { accounts(first: 5) { edges { node { id } } pageInfo { endCursor } } }"#;
        assert_eq!(cost_of(fragment, Json::Null)?, 1 + 5);
        Ok(())
    }

    #[test]
    fn a_mutation_costs_one_per_root_field() -> anyhow::Result<()> {
        let q = r#"mutation { a: play(input: {soundZone: "z"}) { status } b: setVolume(input: {soundZone: "z", volume: 3}) { volume } __typename }"#;
        assert_eq!(cost_of(q, Json::Null)?, 2);
        Ok(())
    }
}
