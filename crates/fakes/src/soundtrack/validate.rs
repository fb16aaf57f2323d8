//! Document checks done before anything runs or costs: picking the operation, field and argument
//! validation against the schema (with the live API's "Field 'x' does not exist on type 'Y'."),
//! variable usage (a `$volume: Int!` where `Volume!` is expected is refused, as on the live API),
//! and coercion of the request's variables.

use super::schema::{Kind, Schema, TypeRef};
use graphql_parser::Pos;
use graphql_parser::query::{
    Definition, Directive, Document, Field, FragmentDefinition, OperationDefinition, Selection, SelectionSet,
    TypeCondition, Value, VariableDefinition,
};
use serde_json::{Map, Value as Json};
use std::collections::{HashMap, HashSet};

pub(crate) type Fragments<'d> = HashMap<&'d str, &'d FragmentDefinition<'d, String>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpKind {
    Query,
    Mutation,
    Subscription,
}

pub(crate) struct Operation<'d> {
    pub kind: OpKind,
    pub variables: &'d [VariableDefinition<'d, String>],
    pub selection: &'d SelectionSet<'d, String>,
}

#[derive(Debug, Clone)]
pub(crate) struct GqlError {
    pub message: String,
    pub pos: Option<Pos>,
    pub code: &'static str,
}

impl GqlError {
    fn validation(message: String, pos: Pos) -> Self {
        Self { message, pos: Some(pos), code: "GRAPHQL_VALIDATION_FAILED" }
    }

    pub(crate) fn to_json(&self) -> Json {
        let mut e = Map::new();
        e.insert("message".into(), self.message.clone().into());
        if let Some(p) = self.pos {
            e.insert("locations".into(), serde_json::json!([{"line": p.line, "column": p.column}]));
        }
        e.insert("extensions".into(), serde_json::json!({ "code": self.code }));
        Json::Object(e)
    }
}

pub(crate) fn select_operation<'d>(
    doc: &'d Document<'d, String>,
    name: Option<&str>,
) -> Result<(Operation<'d>, Fragments<'d>), GqlError> {
    let mut fragments = Fragments::new();
    let mut operations = Vec::new();
    for def in &doc.definitions {
        match def {
            Definition::Fragment(f) => {
                fragments.insert(f.name.as_str(), f);
            }
            Definition::Operation(op) => operations.push(op),
        }
    }
    fn named<'d>(op: &'d OperationDefinition<'d, String>) -> Option<&'d str> {
        match op {
            OperationDefinition::SelectionSet(_) => None,
            OperationDefinition::Query(q) => q.name.as_deref(),
            OperationDefinition::Mutation(m) => m.name.as_deref(),
            OperationDefinition::Subscription(s) => s.name.as_deref(),
        }
    }
    let chosen = match name.filter(|n| !n.is_empty()) {
        Some(wanted) => operations.iter().find(|op| named(op) == Some(wanted)).copied().ok_or_else(|| GqlError {
            message: format!("Unknown operation named \"{wanted}\"."),
            pos: None,
            code: "GRAPHQL_VALIDATION_FAILED",
        })?,
        None if operations.len() == 1 => operations[0],
        None => {
            return Err(GqlError {
                message: "Must provide operation name if query contains multiple operations.".into(),
                pos: None,
                code: "GRAPHQL_VALIDATION_FAILED",
            });
        }
    };
    let op = match chosen {
        OperationDefinition::SelectionSet(s) => Operation { kind: OpKind::Query, variables: &[], selection: s },
        OperationDefinition::Query(q) => {
            Operation { kind: OpKind::Query, variables: &q.variable_definitions, selection: &q.selection_set }
        }
        OperationDefinition::Mutation(m) => {
            Operation { kind: OpKind::Mutation, variables: &m.variable_definitions, selection: &m.selection_set }
        }
        OperationDefinition::Subscription(s) => {
            Operation { kind: OpKind::Subscription, variables: &s.variable_definitions, selection: &s.selection_set }
        }
    };
    Ok((op, fragments))
}

pub(crate) fn validate<'d>(schema: &Schema, op: &Operation<'d>, fragments: &Fragments<'d>) -> Vec<GqlError> {
    let root = match op.kind {
        OpKind::Query => "Query",
        OpKind::Mutation => "Mutation",
        OpKind::Subscription => {
            return vec![GqlError::validation(
                "Subscriptions are served over WebSocket (/v2/graphql-transport-ws), not over HTTP.".into(),
                op.selection.span.0,
            )];
        }
    };
    let mut v = Validator {
        schema,
        fragments,
        var_types: HashMap::new(),
        used: HashSet::new(),
        errors: Vec::new(),
        spreading: Vec::new(),
        pos: op.selection.span.0,
    };
    for def in op.variables {
        let ty = TypeRef::from_ast(&def.var_type);
        if schema.get(ty.named()).is_none() {
            v.errors.push(GqlError::validation(format!("Unknown type \"{}\".", ty.named()), def.position));
        } else if !schema.is_input(ty.named()) {
            v.errors.push(GqlError::validation(
                format!("Variable \"${}\" cannot be non-input type \"{ty}\".", def.name),
                def.position,
            ));
        }
        if v.var_types.insert(def.name.as_str(), (ty, def.default_value.is_some())).is_some() {
            v.errors.push(GqlError::validation(
                format!("There can be only one variable named \"${}\".", def.name),
                def.position,
            ));
        }
    }
    v.selection_set(root, op.selection);
    for def in op.variables {
        if !v.used.contains(def.name.as_str()) {
            v.errors.push(GqlError::validation(format!("Variable \"${}\" is never used.", def.name), def.position));
        }
    }
    v.errors
}

struct Validator<'s, 'd> {
    schema: &'s Schema,
    fragments: &'s Fragments<'d>,
    var_types: HashMap<&'d str, (TypeRef, bool)>,
    used: HashSet<&'d str>,
    errors: Vec<GqlError>,
    spreading: Vec<&'d str>,
    pos: Pos,
}

impl<'d> Validator<'_, 'd> {
    fn error(&mut self, message: String) {
        self.errors.push(GqlError::validation(message, self.pos));
    }

    fn can_spread(&self, parent: &str, condition: &str) -> bool {
        let parents = self.schema.possible_types(parent);
        self.schema.possible_types(condition).iter().any(|t| parents.contains(t))
    }

    fn quoted_possible(&self, parent: &str) -> String {
        let names: Vec<String> = self.schema.possible_types(parent).iter().map(|t| format!("'{t}'")).collect();
        names.join(", ")
    }

    fn selection_set(&mut self, parent: &str, set: &'d SelectionSet<'d, String>) {
        for item in &set.items {
            match item {
                Selection::Field(f) => {
                    self.pos = f.position;
                    self.directives(&f.directives);
                    self.field(parent, f);
                }
                Selection::InlineFragment(i) => {
                    self.pos = i.position;
                    self.directives(&i.directives);
                    let condition = match &i.type_condition {
                        Some(TypeCondition::On(name)) => name.as_str(),
                        None => parent,
                    };
                    if self.schema.get(condition).is_none() {
                        self.error(format!("Unknown type \"{condition}\"."));
                    } else if !self.can_spread(parent, condition) {
                        let possible = self.quoted_possible(parent);
                        self.error(format!(
                            "Inline fragment spread is not possible: possible types are {possible} and the fragment is on '{condition}'."
                        ));
                    } else {
                        self.selection_set(condition, &i.selection_set);
                    }
                }
                Selection::FragmentSpread(s) => {
                    self.pos = s.position;
                    self.directives(&s.directives);
                    let name = s.fragment_name.as_str();
                    let Some(frag) = self.fragments.get(name).copied() else {
                        self.error(format!("Unknown fragment \"{name}\"."));
                        continue;
                    };
                    if self.spreading.contains(&name) {
                        self.error(format!("Cannot spread fragment \"{name}\" within itself."));
                        continue;
                    }
                    let TypeCondition::On(condition) = &frag.type_condition;
                    if self.schema.get(condition).is_none() {
                        self.error(format!("Unknown type \"{condition}\"."));
                    } else if !self.can_spread(parent, condition) {
                        let possible = self.quoted_possible(parent);
                        self.error(format!(
                            "Fragment spread is not possible: possible types are {possible} and fragment \"{name}\" is on '{condition}'."
                        ));
                    } else {
                        self.spreading.push(name);
                        self.selection_set(condition, &frag.selection_set);
                        self.spreading.pop();
                    }
                }
            }
        }
    }

    fn directives(&mut self, directives: &'d [Directive<'d, String>]) {
        for d in directives {
            if d.name != "skip" && d.name != "include" {
                self.error(format!("Unknown directive \"@{}\".", d.name));
                continue;
            }
            match d.arguments.iter().find(|(n, _)| n == "if") {
                Some((_, value)) => {
                    if let Err(reason) =
                        self.literal(value, &TypeRef::NonNull(Box::new(TypeRef::Named("Boolean".into()))))
                    {
                        self.error(format!("Argument \"if\" has invalid value {value}.\n{reason}"));
                    }
                }
                None => {
                    self.error(format!("Directive \"@{}\" argument \"if\" of type \"Boolean!\" is required.", d.name))
                }
            }
        }
    }

    fn field(&mut self, parent: &str, f: &'d Field<'d, String>) {
        if f.name == "__typename" {
            if !f.selection_set.items.is_empty() {
                self.error(
                    "Field \"__typename\" must not have a selection since type \"String!\" has no subfields.".into(),
                );
            }
            return;
        }
        let schema = self.schema;
        let Some(def) = schema.field(parent, &f.name) else {
            self.error(format!("Field '{}' does not exist on type '{parent}'.", f.name));
            return;
        };
        for (name, value) in &f.arguments {
            match def.args.iter().find(|a| &a.name == name) {
                None => {
                    self.error(format!("Unknown argument \"{name}\" on field \"{}\" of type \"{parent}\".", f.name))
                }
                Some(arg) => {
                    if let Err(reason) = self.literal(value, &arg.ty) {
                        self.error(format!("Argument \"{name}\" has invalid value {value}.\n{reason}"));
                    }
                }
            }
        }
        for arg in &def.args {
            let required = matches!(arg.ty, TypeRef::NonNull(_)) && arg.default.is_none();
            if required && !f.arguments.iter().any(|(n, _)| n == &arg.name) {
                self.error(format!("In argument \"{}\": Expected type \"{}\", found null.", arg.name, arg.ty));
            }
        }
        let named = def.ty.named();
        let has_selection = !f.selection_set.items.is_empty();
        if schema.is_leaf(named) {
            if has_selection {
                self.error(format!(
                    "Field \"{}\" must not have a selection since type \"{}\" has no subfields.",
                    f.name, def.ty
                ));
            }
        } else if !has_selection {
            self.error(format!(
                "Field \"{}\" of type \"{}\" must have a selection of subfields. Did you mean \"{} {{ ... }}\"?",
                f.name, def.ty, f.name
            ));
        } else {
            self.selection_set(named, &f.selection_set);
        }
    }

    /// Checks a literal against the type expected where it stands; variables are checked for
    /// compatible declarations instead.
    fn literal(&mut self, value: &'d Value<'d, String>, ty: &TypeRef) -> Result<(), String> {
        if let Value::Variable(name) = value {
            self.variable_usage(name, ty);
            return Ok(());
        }
        match ty {
            TypeRef::NonNull(inner) => {
                if matches!(value, Value::Null) {
                    return Err(format!("Expected type \"{ty}\", found null."));
                }
                self.literal(value, inner)
            }
            _ if matches!(value, Value::Null) => Ok(()),
            TypeRef::List(inner) => match value {
                Value::List(items) => {
                    for item in items {
                        self.literal(item, inner)?;
                    }
                    Ok(())
                }
                single => self.literal(single, inner),
            },
            TypeRef::Named(name) => self.named_literal(value, name),
        }
    }

    fn named_literal(&mut self, value: &'d Value<'d, String>, name: &str) -> Result<(), String> {
        let schema = self.schema;
        let Some(t) = schema.get(name) else {
            return Err(format!("Unknown type \"{name}\"."));
        };
        let wrong = || Err(format!("Expected type \"{name}\", found {value}."));
        match t.kind {
            Kind::Scalar => {
                let fits = match name {
                    "Int" | "Volume" => matches!(value, Value::Int(_)),
                    "Float" => matches!(value, Value::Int(_) | Value::Float(_)),
                    "Boolean" => matches!(value, Value::Boolean(_)),
                    "ID" => matches!(value, Value::String(_) | Value::Int(_)),
                    _ => matches!(value, Value::String(_)),
                };
                if fits { Ok(()) } else { wrong() }
            }
            Kind::Enum => match value {
                Value::Enum(v) if t.enum_values.contains(v) => Ok(()),
                _ => wrong(),
            },
            Kind::InputObject => {
                let Value::Object(fields) = value else {
                    return wrong();
                };
                for (key, inner) in fields {
                    let Some(def) = t.inputs.iter().find(|i| &i.name == key) else {
                        return Err(format!("In field \"{key}\": Unknown field."));
                    };
                    self.literal(inner, &def.ty).map_err(|e| format!("In field \"{key}\": {e}"))?;
                }
                for def in &t.inputs {
                    if matches!(def.ty, TypeRef::NonNull(_)) && def.default.is_none() && !fields.contains_key(&def.name)
                    {
                        return Err(format!("In field \"{}\": Expected type \"{}\", found null.", def.name, def.ty));
                    }
                }
                Ok(())
            }
            Kind::Object | Kind::Interface | Kind::Union => Err(format!("\"{name}\" is not an input type.")),
        }
    }

    fn variable_usage(&mut self, name: &'d str, expected: &TypeRef) {
        self.used.insert(name);
        let Some((declared, has_default)) = self.var_types.get(name).cloned() else {
            self.error(format!("Variable \"${name}\" is not defined."));
            return;
        };
        let position = match (expected, has_default) {
            (TypeRef::NonNull(inner), true) => inner.as_ref(),
            _ => expected,
        };
        if !usable(&declared, position) {
            self.error(format!(
                "Variable \"${name}\" of type \"{declared}\" used in position expecting type \"{expected}\"."
            ));
        }
    }
}

/// Whether a variable declared `declared` may stand where `expected` is wanted.
fn usable(declared: &TypeRef, expected: &TypeRef) -> bool {
    match (declared, expected) {
        (TypeRef::NonNull(d), TypeRef::NonNull(e)) => usable(d, e),
        (TypeRef::NonNull(d), e) => usable(d, e),
        (_, TypeRef::NonNull(_)) => false,
        (TypeRef::List(d), TypeRef::List(e)) => usable(d, e),
        (TypeRef::Named(d), TypeRef::Named(e)) => d == e,
        _ => false,
    }
}

/// The request's variables, checked and coerced to their declared types, defaults filled in.
pub(crate) fn coerce_variables(
    schema: &Schema,
    op: &Operation<'_>,
    provided: &Map<String, Json>,
) -> Result<Map<String, Json>, Vec<GqlError>> {
    let mut out = Map::new();
    let mut errors = Vec::new();
    for def in op.variables {
        let ty = TypeRef::from_ast(&def.var_type);
        let bad = |message: String| GqlError { message, pos: Some(def.position), code: "BAD_USER_INPUT" };
        match provided.get(&def.name) {
            Some(value) => match coerce(schema, value, &ty, &def.name) {
                Ok(v) => {
                    out.insert(def.name.clone(), v);
                }
                Err(Reason::UnknownField(message)) => errors.push(bad(message)),
                Err(Reason::Invalid(reason)) => {
                    errors.push(bad(format!("Variable \"${}\" got invalid value {value}; {reason}", def.name)));
                }
            },
            None => match &def.default_value {
                Some(default) => {
                    if let Some(v) = value_json(default, &Map::new()) {
                        out.insert(def.name.clone(), v);
                    }
                }
                None if matches!(ty, TypeRef::NonNull(_)) => {
                    errors.push(bad(format!("Variable \"${}\" of required type \"{ty}\" was not provided.", def.name)))
                }
                None => {}
            },
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

enum Reason {
    UnknownField(String),
    Invalid(String),
}

fn coerce(schema: &Schema, value: &Json, ty: &TypeRef, var: &str) -> Result<Json, Reason> {
    match ty {
        TypeRef::NonNull(inner) => {
            if value.is_null() {
                return Err(Reason::Invalid(format!("Expected non-nullable type \"{ty}\" not to be null.")));
            }
            coerce(schema, value, inner, var)
        }
        _ if value.is_null() => Ok(Json::Null),
        TypeRef::List(inner) => match value {
            Json::Array(items) => items.iter().map(|i| coerce(schema, i, inner, var)).collect::<Result<_, _>>(),
            single => Ok(Json::Array(vec![coerce(schema, single, inner, var)?])),
        },
        TypeRef::Named(name) => {
            let Some(t) = schema.get(name) else {
                return Err(Reason::Invalid(format!("Unknown type \"{name}\".")));
            };
            let invalid = || Reason::Invalid(format!("Expected type \"{name}\"."));
            match t.kind {
                Kind::Scalar => match name.as_str() {
                    "Int" | "Volume" => {
                        value.as_i64().filter(|n| i32::try_from(*n).is_ok()).map(Json::from).ok_or_else(|| {
                            Reason::Invalid(format!("{name} cannot represent non-integer value: {value}"))
                        })
                    }
                    "Float" => value.is_number().then(|| value.clone()).ok_or_else(invalid),
                    "Boolean" => value.is_boolean().then(|| value.clone()).ok_or_else(invalid),
                    "ID" => match value {
                        Json::String(_) => Ok(value.clone()),
                        Json::Number(n) if n.is_i64() => Ok(Json::String(n.to_string())),
                        _ => Err(invalid()),
                    },
                    _ => value.is_string().then(|| value.clone()).ok_or_else(invalid),
                },
                Kind::Enum => match value.as_str() {
                    Some(v) if t.enum_values.iter().any(|e| e == v) => Ok(value.clone()),
                    _ => Err(Reason::Invalid(format!("Value {value} does not exist in \"{name}\" enum."))),
                },
                Kind::InputObject => {
                    let Json::Object(fields) = value else {
                        return Err(invalid());
                    };
                    let mut out = Map::new();
                    for (key, inner) in fields {
                        let Some(def) = t.inputs.iter().find(|i| &i.name == key) else {
                            return Err(Reason::UnknownField(format!("Variable '{var}' field '{key}' does not exist")));
                        };
                        out.insert(key.clone(), coerce(schema, inner, &def.ty, var)?);
                    }
                    for def in &t.inputs {
                        if out.contains_key(&def.name) {
                            continue;
                        }
                        match &def.default {
                            Some(d) => {
                                out.insert(def.name.clone(), d.clone());
                            }
                            None if matches!(def.ty, TypeRef::NonNull(_)) => {
                                return Err(Reason::Invalid(format!(
                                    "Field \"{}\" of required type \"{}\" was not provided.",
                                    def.name, def.ty
                                )));
                            }
                            None => {}
                        }
                    }
                    Ok(Json::Object(out))
                }
                Kind::Object | Kind::Interface | Kind::Union => Err(invalid()),
            }
        }
    }
}

/// A value from the document as JSON, with variables substituted; `None` for an absent variable.
pub(crate) fn value_json(value: &Value<'_, String>, vars: &Map<String, Json>) -> Option<Json> {
    Some(match value {
        Value::Variable(name) => return vars.get(name).cloned(),
        Value::Null => Json::Null,
        Value::Int(n) => n.as_i64().map_or(Json::Null, Json::from),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::String(s) | Value::Enum(s) => Json::String(s.clone()),
        Value::Boolean(b) => Json::Bool(*b),
        Value::List(items) => Json::Array(items.iter().filter_map(|i| value_json(i, vars)).collect()),
        Value::Object(fields) => {
            Json::Object(fields.iter().filter_map(|(k, v)| Some((k.clone(), value_json(v, vars)?))).collect())
        }
    })
}
