//! The type system the fake answers to, loaded from `schema.graphql` (a subset of Soundtrack's real
//! SDL). Validation, cost and execution all look types and fields up here, so the engine stays
//! general: a new field is a line in the SDL plus an arm in a resolver.

use graphql_parser::schema::{Definition, TypeDefinition};
use std::collections::HashMap;
use std::fmt;

const SDL: &str = include_str!("schema.graphql");

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TypeRef {
    Named(String),
    List(Box<TypeRef>),
    NonNull(Box<TypeRef>),
}

impl TypeRef {
    pub(crate) fn from_ast(t: &graphql_parser::query::Type<'_, String>) -> Self {
        use graphql_parser::query::Type;
        match t {
            Type::NamedType(n) => TypeRef::Named(n.clone()),
            Type::ListType(inner) => TypeRef::List(Box::new(Self::from_ast(inner))),
            Type::NonNullType(inner) => TypeRef::NonNull(Box::new(Self::from_ast(inner))),
        }
    }

    /// The innermost named type.
    pub(crate) fn named(&self) -> &str {
        match self {
            TypeRef::Named(n) => n,
            TypeRef::List(inner) | TypeRef::NonNull(inner) => inner.named(),
        }
    }
}

impl fmt::Display for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeRef::Named(n) => f.write_str(n),
            TypeRef::List(inner) => write!(f, "[{inner}]"),
            TypeRef::NonNull(inner) => write!(f, "{inner}!"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Scalar,
    Object,
    Interface,
    Union,
    Enum,
    InputObject,
}

#[derive(Debug, Clone)]
pub(crate) struct InputDef {
    pub name: String,
    pub ty: TypeRef,
    pub default: Option<serde_json::Value>,
}

#[derive(Debug, Clone)]
pub(crate) struct FieldDef {
    pub name: String,
    pub args: Vec<InputDef>,
    pub ty: TypeRef,
}

#[derive(Debug, Clone)]
pub(crate) struct TypeDef {
    pub kind: Kind,
    pub fields: Vec<FieldDef>,
    pub inputs: Vec<InputDef>,
    pub enum_values: Vec<String>,
    /// Object types a union or interface can be at run time.
    pub possible: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct Schema {
    types: HashMap<String, TypeDef>,
}

impl Schema {
    pub(crate) fn load() -> anyhow::Result<Self> {
        let doc = graphql_parser::parse_schema::<String>(SDL)
            .map_err(|e| anyhow::anyhow!("the fake's schema does not parse: {e}"))?;
        let mut types = HashMap::new();
        for scalar in ["Int", "Float", "String", "Boolean", "ID"] {
            types.insert(scalar.to_owned(), TypeDef::empty(Kind::Scalar));
        }
        let mut implementers: Vec<(String, String)> = Vec::new();
        for def in &doc.definitions {
            let Definition::TypeDefinition(td) = def else { continue };
            let (name, ty) = match td {
                TypeDefinition::Scalar(s) => (s.name.clone(), TypeDef::empty(Kind::Scalar)),
                TypeDefinition::Object(o) => {
                    for i in &o.implements_interfaces {
                        implementers.push((i.clone(), o.name.clone()));
                    }
                    let mut t = TypeDef::empty(Kind::Object);
                    t.fields = o.fields.iter().map(field_def).collect();
                    (o.name.clone(), t)
                }
                TypeDefinition::Interface(i) => {
                    let mut t = TypeDef::empty(Kind::Interface);
                    t.fields = i.fields.iter().map(field_def).collect();
                    (i.name.clone(), t)
                }
                TypeDefinition::Union(u) => {
                    let mut t = TypeDef::empty(Kind::Union);
                    t.possible = u.types.clone();
                    (u.name.clone(), t)
                }
                TypeDefinition::Enum(e) => {
                    let mut t = TypeDef::empty(Kind::Enum);
                    t.enum_values = e.values.iter().map(|v| v.name.clone()).collect();
                    (e.name.clone(), t)
                }
                TypeDefinition::InputObject(i) => {
                    let mut t = TypeDef::empty(Kind::InputObject);
                    t.inputs = i.fields.iter().map(input_def).collect();
                    (i.name.clone(), t)
                }
            };
            types.insert(name, ty);
        }
        for (interface, object) in implementers {
            if let Some(t) = types.get_mut(&interface) {
                t.possible.push(object);
            }
        }
        Ok(Self { types })
    }

    pub(crate) fn get(&self, name: &str) -> Option<&TypeDef> {
        self.types.get(name)
    }

    pub(crate) fn field(&self, type_name: &str, field: &str) -> Option<&FieldDef> {
        self.types.get(type_name)?.fields.iter().find(|f| f.name == field)
    }

    pub(crate) fn is_leaf(&self, type_name: &str) -> bool {
        self.types.get(type_name).is_some_and(|t| matches!(t.kind, Kind::Scalar | Kind::Enum))
    }

    pub(crate) fn is_input(&self, type_name: &str) -> bool {
        self.types.get(type_name).is_some_and(|t| matches!(t.kind, Kind::Scalar | Kind::Enum | Kind::InputObject))
    }

    /// The object types a value of `type_name` can be: itself for an object, its members for a
    /// union or interface.
    pub(crate) fn possible_types<'s>(&'s self, type_name: &'s str) -> Vec<&'s str> {
        match self.types.get(type_name) {
            Some(t) if t.kind == Kind::Object => vec![type_name],
            Some(t) => t.possible.iter().map(String::as_str).collect(),
            None => Vec::new(),
        }
    }

    /// Whether a fragment on `condition` applies to a value whose run-time type is `object`.
    pub(crate) fn fragment_applies(&self, condition: &str, object: &str) -> bool {
        condition == object || self.possible_types(condition).contains(&object)
    }
}

impl TypeDef {
    fn empty(kind: Kind) -> Self {
        Self { kind, fields: Vec::new(), inputs: Vec::new(), enum_values: Vec::new(), possible: Vec::new() }
    }
}

fn field_def(f: &graphql_parser::schema::Field<'_, String>) -> FieldDef {
    FieldDef {
        name: f.name.clone(),
        args: f.arguments.iter().map(input_def).collect(),
        ty: TypeRef::from_ast(&f.field_type),
    }
}

fn input_def(i: &graphql_parser::schema::InputValue<'_, String>) -> InputDef {
    InputDef {
        name: i.name.clone(),
        ty: TypeRef::from_ast(&i.value_type),
        default: i.default_value.as_ref().map(|v| const_json(v)),
    }
}

/// A constant GraphQL value (an SDL default) as JSON; variables cannot occur in one.
fn const_json(v: &graphql_parser::query::Value<'_, String>) -> serde_json::Value {
    use graphql_parser::query::Value;
    match v {
        Value::Variable(_) | Value::Null => serde_json::Value::Null,
        Value::Int(n) => n.as_i64().map_or(serde_json::Value::Null, Into::into),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into),
        Value::String(s) | Value::Enum(s) => serde_json::Value::String(s.clone()),
        Value::Boolean(b) => serde_json::Value::Bool(*b),
        Value::List(items) => items.iter().map(const_json).collect(),
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), const_json(v))).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_loads_and_knows_unions_and_interfaces() -> anyhow::Result<()> {
        let s = Schema::load()?;
        assert!(s.fragment_applies("Viewer", "PublicAPIClient"));
        assert!(s.fragment_applies("Assignable", "Playlist"));
        assert!(!s.fragment_applies("Viewer", "Account"));
        assert!(s.is_leaf("Volume"));
        let set_volume = s.field("Mutation", "setVolume").ok_or_else(|| anyhow::anyhow!("setVolume"))?;
        assert_eq!(set_volume.args[0].ty.to_string(), "SetVolumeInput!");
        Ok(())
    }
}
