//! One description per policy type: how it is decoded and its JSON Schema
//! come from the same place. A type implements [`Decode`] (leaf types by
//! hand, decode and schema side by side); option structs and name enums are
//! declared with `options!` and `names!`, which generate the struct, its
//! decoding through a [`Table`] and its schema from the same field list.

use std::borrow::Cow;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use super::decode::{Decoder, Fields};
use super::node::{Node, Span, Value};
use super::{ErrorCode, Globs, Pattern, Patterns, PolicyError, Spanned, Strings, did_you_mean};

/// A policy type: how it is read from a node (every problem reported
/// through the decoder; `None` once reported, or, for a type that keeps
/// what failed, such as a policy file's parts, the value with its failed
/// parts marked) and how it is written, as a JSON Schema.
pub trait Decode: Sized {
    /// Its name under `$defs` in the schema; `None`: written inline.
    const NAME: Option<&'static str> = None;
    fn decode(node: &Node, d: &mut Decoder) -> Option<Self>;
    fn schema(generator: &mut SchemaGenerator) -> Schema;
    /// Whether `key:` with nothing after it (YAML's null) is a valid value,
    /// for the schema ([`schema_of`]). By default the decoder is asked: it
    /// reads null as an empty mapping, which options that are all optional
    /// accept. A type whose emptiness is refused elsewhere says `false`.
    fn empty_is_valid() -> bool {
        let null = Node {
            value: Value::Null,
            span: Span::default(),
            double_quoted: false,
        };
        let mut d = Decoder::default();
        Self::decode(&null, &mut d).is_some() && d.errors.is_empty()
    }
}

/// The schema of `T` where it is used: a `$ref` to a named type, or inline.
pub fn schema_of<T: Decode>(generator: &mut SchemaGenerator) -> Schema {
    let schema = match T::NAME {
        Some(_) => generator.subschema_for::<Named<T>>(),
        None => T::schema(generator),
    };
    if T::empty_is_valid() {
        json_schema!({ "anyOf": [ schema, { "type": "null" } ] })
    } else {
        schema
    }
}

/// A [`Decode`] type as a schemars type (for `$defs` and for the types
/// that still derive their schema).
pub struct Named<T>(PhantomData<T>);

impl<T: Decode> JsonSchema for Named<T> {
    fn inline_schema() -> bool {
        T::NAME.is_none()
    }
    fn schema_name() -> Cow<'static, str> {
        T::NAME.unwrap_or("Value").into()
    }
    fn schema_id() -> Cow<'static, str> {
        std::any::type_name::<T>().into()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::schema(generator)
    }
}

/// Doc comment lines as one description, as schemars writes them.
pub fn doc_text(lines: &[&str]) -> String {
    let lines: Vec<&str> = lines.iter().map(|l| l.trim()).collect();
    lines.join("\n").trim().to_owned()
}

fn described(mut schema: Schema, description: &str) -> Schema {
    if !description.is_empty() {
        schema.insert("description".into(), description.into());
    }
    schema
}

/// How a field of an option struct is present: `Option<T>` is optional
/// (absent: `None`); any other type takes its default when absent, unless
/// the field is declared `required`.
pub trait Field: Sized {
    type Item: Decode;
    fn present(item: Self::Item) -> Self;
    fn absent() -> Self;
}

impl<T: Decode> Field for Option<T> {
    type Item = T;
    fn present(item: T) -> Self {
        Some(item)
    }
    fn absent() -> Self {
        None
    }
}

impl<T: Decode + Default> Field for T {
    type Item = T;
    fn present(item: T) -> Self {
        item
    }
    fn absent() -> Self {
        T::default()
    }
}

/// A check of a decoded field: `(value, key, node)`, the error to report.
pub type Check<T> = fn(&T, &str, &Node) -> Result<(), PolicyError>;

/// A constraint on a field (not empty, at least one of, a range), written
/// once: the check the loader runs and what it adds to the field's schema,
/// so the two cannot drift. Written `=> constraint(C)` in `options!`.
pub struct Constraint<T> {
    pub(crate) check: Check<T>,
    pub(crate) schema: fn(&mut Schema),
}

/// A constraint on a whole option struct (at least one of its keys, not
/// two forms at once), written once: its check, run once every field
/// decoded, and what it adds to the struct's schema. Written
/// `constraint = C` in `#[options(…)]`.
pub struct TableConstraint<T> {
    pub(crate) check: fn(&T, &Table<'_>) -> Result<(), PolicyError>,
    pub(crate) schema: fn(&mut Schema),
}

/// A number must be at least 1: the schema's `minimum` is 1. Pair it with a
/// check whose message says what 0 would mean there ([`Constraint`]).
pub fn at_least_one(schema: &mut Schema) {
    schema.insert("minimum".into(), 1.into());
}

/// A [`Strings`] (one or many) must have an item: `minItems: 1`, which
/// holds for its list form and says nothing about a single string.
pub fn some_string(schema: &mut Schema) {
    schema.insert("minItems".into(), 1.into());
}

/// A list (one or many, [`Vec`]'s schema) must have an item: the schema's
/// list form gets `minItems: 1`. Pair it with a check whose message says
/// why an empty list is wrong in that place ([`Constraint`]).
pub fn non_empty_list(schema: &mut Schema) {
    if let Some(serde_json::Value::Array(forms)) = schema.get_mut("anyOf")
        && let Some(serde_json::Value::Object(list)) = forms.get_mut(1)
    {
        list.insert("minItems".into(), 1.into());
    }
}

/// What a field adds to its type's decoding: a check of the decoded value,
/// another way to decode it, a default other than `Default`, a touch to its
/// schema. Written as `=> check(f)`, `=> with(f)`, `=> default(f)`,
/// `=> schema(f)`, `=> written(f)`, `=> constraint(c)` after the field in
/// `options!`.
pub struct Spec<T> {
    check: Option<Check<T>>,
    with: Option<fn(&Node, &mut Decoder) -> Option<T>>,
    default: Option<fn() -> T>,
    schema: Option<fn(&mut Schema)>,
    written: Option<fn(&mut SchemaGenerator) -> Schema>,
}

impl<T: Decode> Spec<T> {
    pub(crate) fn new() -> Self {
        Self {
            check: None,
            with: None,
            default: None,
            schema: None,
            written: None,
        }
    }
    pub(crate) fn check(mut self, f: Check<T>) -> Self {
        self.check = Some(f);
        self
    }
    pub(crate) fn with(mut self, f: fn(&Node, &mut Decoder) -> Option<T>) -> Self {
        self.with = Some(f);
        self
    }
    pub(crate) fn default(mut self, f: fn() -> T) -> Self {
        self.default = Some(f);
        self
    }
    pub(crate) fn schema(mut self, f: fn(&mut Schema)) -> Self {
        self.schema = Some(f);
        self
    }
    /// The check and the schema of a [`Constraint`].
    pub(crate) fn constraint(self, constraint: Constraint<T>) -> Self {
        self.check(constraint.check).schema(constraint.schema)
    }

    fn decode(&self, key: &str, node: &Node, d: &mut Decoder) -> Option<T> {
        let value = match self.with {
            Some(with) => with(node, d)?,
            None => T::decode(node, d)?,
        };
        if let Some(check) = self.check
            && let Err(error) = check(&value, key, node)
        {
            d.error(error);
            return None;
        }
        Some(value)
    }

    /// The field's schema, with its doc comment as description.
    pub(crate) fn property(&self, generator: &mut SchemaGenerator, description: &str) -> Schema {
        let schema = match self.written {
            Some(written) => written(generator),
            None => schema_of::<T>(generator),
        };
        let mut schema = described(schema, description);
        if let Some(touch) = self.schema {
            touch(&mut schema);
        }
        schema
    }
}

/// The entries of one mapping being decoded into a type: unknown keys are
/// reported when it is opened (with "did you mean"), each field as it is
/// taken; whether any failed is remembered, so the type is built only when
/// none did.
pub struct Table<'a> {
    fields: Fields<'a>,
    failed: bool,
}

impl<'a> Table<'a> {
    /// The mapping `node`, whose keys must be among `keys` (an empty value,
    /// `key:`, is an empty mapping).
    pub(crate) fn open(
        node: &'a Node,
        what: &'a str,
        keys: &[&str],
        d: &mut Decoder,
    ) -> Option<Self> {
        Some(Self {
            fields: d.fields(node, what, keys)?,
            failed: false,
        })
    }

    /// An optional field (or one with a default).
    pub(crate) fn optional<F: Field>(
        &mut self,
        d: &mut Decoder,
        key: &str,
        spec: Spec<F::Item>,
    ) -> Option<F> {
        match self.fields.get(key) {
            None => Some(match spec.default {
                Some(default) => F::present(default()),
                None => F::absent(),
            }),
            Some(node) => self.track(spec.decode(key, node, d).map(F::present)),
        }
    }

    /// A field that must be present.
    pub(crate) fn required<T: Decode>(
        &mut self,
        d: &mut Decoder,
        key: &str,
        spec: Spec<T>,
    ) -> Option<T> {
        let value = match self.fields.required(key, d) {
            Some(node) => spec.decode(key, node, d),
            None => None,
        };
        self.track(value)
    }

    fn track<T>(&mut self, value: Option<T>) -> Option<T> {
        self.failed |= value.is_none();
        value
    }

    pub(crate) fn failed(&self) -> bool {
        self.failed
    }

    pub(crate) fn key(&self, key: &str) -> Option<&'a Node> {
        self.fields.key(key)
    }

    pub(crate) fn span(&self) -> Span {
        self.fields.span()
    }

    pub(crate) fn entries(&self) -> &'a [(Node, Node)] {
        self.fields.entries()
    }
}

/// One key of a mapping whose decoding is written by hand (the top level
/// of a policy file, a waiver: their keys are read together, not one by
/// one): its name, its doc and its schema, declared once beside that
/// decoding. The keys it accepts ([`key_names`]) and its schema
/// ([`keys_schema`]) both come from the list.
pub struct Key {
    pub(crate) name: &'static str,
    pub(crate) doc: &'static str,
    pub(crate) required: bool,
    pub(crate) schema: fn(&mut SchemaGenerator) -> Schema,
}

impl Key {
    pub(crate) const fn new(
        name: &'static str,
        doc: &'static str,
        schema: fn(&mut SchemaGenerator) -> Schema,
    ) -> Self {
        Self {
            name,
            doc,
            required: false,
            schema,
        }
    }

    /// A key that must be present.
    pub(crate) const fn required(self) -> Self {
        Self {
            required: true,
            ..self
        }
    }
}

/// The names of `keys`, for [`Decoder::fields`] and [`Table::open`].
pub const fn key_names<const N: usize>(keys: &[Key; N]) -> [&'static str; N] {
    let mut names = [""; N];
    let mut i = 0;
    while i < N {
        names[i] = keys[i].name;
        i += 1;
    }
    names
}

/// The schema of a mapping of `keys` (no other key; those declared
/// required are required), described by `description`.
pub fn keys_schema(keys: &[Key], generator: &mut SchemaGenerator, description: &str) -> Schema {
    let mut properties = serde_json::Map::new();
    for key in keys {
        let schema = described((key.schema)(generator), key.doc);
        properties.insert(key.name.into(), schema.to_value());
    }
    let required: Vec<&str> = keys.iter().filter(|k| k.required).map(|k| k.name).collect();
    let mut schema = json_schema!({
        "type": "object",
        "properties": properties,
        "additionalProperties": false,
    });
    if !required.is_empty() {
        schema.insert("required".into(), required.into());
    }
    described(schema, description)
}

/// A way of writing a type other than its mapping (`ticket: true`):
/// decoded before the mapping, and added to its schema.
pub trait Shorthand<T> {
    /// `None`: not this shorthand, decode the mapping; `Some(None)`: this
    /// shorthand, wrongly (reported).
    fn decode(node: &Node, d: &mut Decoder) -> Option<Option<T>>;
    fn schema(mapping: Schema) -> Schema;
}

/// `true` stands for the defaults (`milestone: true`).
pub struct TrueForDefaults;

impl<T: Default> Shorthand<T> for TrueForDefaults {
    fn decode(node: &Node, _: &mut Decoder) -> Option<Option<T>> {
        matches!(node.value, Value::Bool(true)).then(|| Some(T::default()))
    }
    fn schema(mapping: Schema) -> Schema {
        json_schema!({ "anyOf": [ { "const": true }, mapping ] })
    }
}

/// Declares an option struct once: the struct, its [`Decode`] (keys are
/// the field names, or `as "key"`; unknown keys reported with "did you
/// mean"), and its JSON Schema (doc comments as descriptions; fields
/// declared `required` are required). Field types say how a field is
/// written (`Option<T>`: optional; another type: its default when absent);
/// `=> required`, `=> check(f)`, `=> with(f)`, `=> default(f)`,
/// `=> schema(f)` refine it ([`Spec`]). `check = f` on the struct checks
/// the whole once every field decoded (`f(&Self, &Table)`), `constraint = C`
/// checks it and touches its schema ([`TableConstraint`]); `shorthand = S`
/// adds another way of writing it ([`Shorthand`]); `schema = f` touches its
/// schema. Fields after a `;` are not written: `name: Type = initial value`.
macro_rules! options {
    (
        $(#[doc = $doc:literal])*
        #[options(what = $what:literal $(, check = $check:path)? $(, constraint = $constraint:path)? $(, shorthand = $short:ty)? $(, schema = $touch:path)?)]
        $(#[$attr:meta])*
        $vis:vis struct $name:ident {
            $(
                $(#[doc = $fdoc:literal])*
                $fvis:vis $field:ident : $ty:ty $(as $key:literal)? $(=> $flag:ident $(($($arg:tt)*))?)*
            ),* $(,)?
            $(;
                $(
                    $(#[doc = $sdoc:literal])*
                    $svis:vis $sfield:ident : $sty:ty = $sinit:expr
                ),* $(,)?
            )?
        }
    ) => {
        $(#[doc = $doc])*
        $(#[$attr])*
        $vis struct $name {
            $( $(#[doc = $fdoc])* $fvis $field: $ty, )*
            $($( $(#[doc = $sdoc])* $svis $sfield: $sty, )*)?
        }

        impl $name {
            /// The keys it is written with.
            #[allow(dead_code, reason = "macro-generated: not every options type reads its keys")]
            pub(crate) const KEYS: &'static [&'static str] = &[$($crate::syntax::options!(@key $field $($key)?)),*];
        }

        impl $crate::syntax::Decode for $name {
            const NAME: Option<&'static str> = Some(stringify!($name));

            fn decode(
                node: &$crate::syntax::Node,
                d: &mut $crate::syntax::Decoder,
            ) -> Option<Self> {
                $(
                    if let Some(value) = <$short as $crate::syntax::Shorthand<Self>>::decode(node, d) {
                        return value;
                    }
                )?
                let mut table = $crate::syntax::Table::open(node, $what, Self::KEYS, d)?;
                $(
                    let $field = $crate::syntax::options!(
                        @take table, d, $ty, $crate::syntax::options!(@key $field $($key)?)
                        $(, $flag $(($($arg)*))?)*
                    );
                )*
                if table.failed() {
                    return None;
                }
                let value = Self { $( $field: $field?, )* $($( $sfield: $sinit, )*)? };
                $(
                    if let Err(error) = $check(&value, &table) {
                        d.error(error);
                        return None;
                    }
                )?
                $(
                    if let Err(error) = ($constraint.check)(&value, &table) {
                        d.error(error);
                        return None;
                    }
                )?
                let _ = &table;
                Some(value)
            }

            fn schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let mut properties = serde_json::Map::new();
                let mut required: Vec<&str> = Vec::new();
                $(
                    let key = $crate::syntax::options!(@key $field $($key)?);
                    let description = $crate::syntax::doc_text(&[$($fdoc),*]);
                    let (schema, is_required) = $crate::syntax::options!(
                        @schema generator, $ty, &description $(, $flag $(($($arg)*))?)*
                    );
                    if is_required {
                        required.push(key);
                    }
                    properties.insert(key.into(), schema.to_value());
                )*
                let mut schema = schemars::json_schema!({
                    "type": "object",
                    "properties": properties,
                    "additionalProperties": false,
                });
                if !required.is_empty() {
                    schema.insert("required".into(), required.into());
                }
                $( ($constraint.schema)(&mut schema); )?
                $( $touch(&mut schema); )?
                $( let mut schema = <$short as $crate::syntax::Shorthand<Self>>::schema(schema); )?
                let description = $crate::syntax::doc_text(&[$($doc),*]);
                if !description.is_empty() {
                    schema.insert("description".into(), description.into());
                }
                schema
            }
        }
        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn schema_id() -> std::borrow::Cow<'static, str> {
                <$crate::syntax::Named<Self> as schemars::JsonSchema>::schema_id()
            }
            fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
                <Self as $crate::syntax::Decode>::schema(generator)
            }
        }
    };
    (@key $field:ident $key:literal) => { $key };
    (@key $field:ident) => { stringify!($field) };
    (@take $table:ident, $d:ident, $ty:ty, $key:expr, required $(, $flag:ident $(($($arg:tt)*))?)*) => {
        $table.required::<$ty>($d, $key, $crate::syntax::Spec::new() $(.$flag($($($arg)*)?))*)
    };
    (@take $table:ident, $d:ident, $ty:ty, $key:expr $(, $flag:ident $(($($arg:tt)*))?)*) => {
        $table.optional::<$ty>($d, $key, $crate::syntax::Spec::new() $(.$flag($($($arg)*)?))*)
    };
    (@schema $g:ident, $ty:ty, $description:expr, required $(, $flag:ident $(($($arg:tt)*))?)*) => {
        ($crate::syntax::Spec::<$ty>::new() $(.$flag($($($arg)*)?))*.property($g, $description), true)
    };
    (@schema $g:ident, $ty:ty, $description:expr $(, $flag:ident $(($($arg:tt)*))?)*) => {
        ($crate::syntax::Spec::<<$ty as $crate::syntax::Field>::Item>::new() $(.$flag($($($arg)*)?))*.property($g, $description), false)
    };
}
pub(crate) use options;

/// Declares an enum of names once: the enum, `ALL`, `name()`, `parse()`,
/// its [`Decode`] (an unknown name is reported with "did you mean") and its
/// schema (`enum` of the names).
macro_rules! names {
    (
        $(#[doc = $doc:literal])*
        #[names(what = $what:literal $(, label = $label:literal)? $(, unknown = $unknown:path)?)]
        $(#[$attr:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vattr:meta])* $variant:ident = $text:literal ),* $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        $(#[$attr])*
        $vis enum $name {
            $( $(#[$vattr])* $variant, )*
        }

        impl $name {
            pub(crate) const ALL: [$name; [$(stringify!($variant)),*].len()] = [$(Self::$variant),*];

            pub(crate) fn name(self) -> &'static str {
                match self {
                    $( Self::$variant => $text, )*
                }
            }

            pub(crate) fn parse(text: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|v| v.name() == text)
            }
        }

        impl $crate::syntax::Decode for $name {
            const NAME: Option<&'static str> = Some(stringify!($name));

            fn decode(
                node: &$crate::syntax::Node,
                d: &mut $crate::syntax::Decoder,
            ) -> Option<Self> {
                $(
                    let found = node.as_str().and_then(Self::parse);
                    if found.is_none() {
                        d.error($unknown(node));
                    }
                    return found;
                )?
                #[allow(unreachable_code, reason = "macro-generated: the branch above may return")]
                let text = d.string(node)?;
                let found = Self::parse(&text.value);
                if found.is_none() {
                    #[allow(unused_mut, unused_assignments, reason = "macro-generated: the label may not be given")]
                    let mut label = None;
                    $( label = Some($label); )?
                    d.error($crate::syntax::unknown_name(&text, $what, label, &Self::ALL.map(Self::name)));
                }
                found
            }

            fn schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let mut schema = schemars::json_schema!({
                    "type": "string",
                    "enum": [$($text),*],
                });
                let description = $crate::syntax::doc_text(&[$($doc),*]);
                if !description.is_empty() {
                    schema.insert("description".into(), description.into());
                }
                schema
            }
        }

        impl schemars::JsonSchema for $name {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($name).into()
            }
            fn schema_id() -> std::borrow::Cow<'static, str> {
                <$crate::syntax::Named<Self> as schemars::JsonSchema>::schema_id()
            }
            fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
                <Self as $crate::syntax::Decode>::schema(generator)
            }
        }    };
}
pub(crate) use names;

/// "unknown {what} `x`", suggesting a close name or listing them.
pub fn unknown_name(
    name: &Spanned<String>,
    what: &str,
    label: Option<&str>,
    allowed: &[&str],
) -> PolicyError {
    let error = PolicyError::at(
        ErrorCode::UnknownValue,
        name.span,
        format!("unknown {what} `{}`", name.value),
    )
    .label(label.map_or_else(|| format!("not a known {what}"), str::to_owned));
    match did_you_mean(&name.value, allowed.iter().copied()) {
        Some(close) => error.help(format!("did you mean `{close}`?")),
        None => error.help(format!("use one of: {}", allowed.join(", "))),
    }
}

// Leaf types.

impl Decode for String {
    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        d.string(node).map(|s| s.value)
    }
    fn schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string" })
    }
}

impl Decode for bool {
    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        d.bool(node)
    }
    fn schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "boolean" })
    }
}

impl Decode for u32 {
    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        d.count(node).map(|n| n.value)
    }
    fn schema(generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<u32>()
    }
}

/// The value with where it is written.
impl<T: Decode> Decode for Spanned<T> {
    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        T::decode(node, d).map(|value| Spanned::new(value, node.span))
    }
    fn schema(generator: &mut SchemaGenerator) -> Schema {
        schema_of::<T>(generator)
    }
}

/// A list, or one item standing for a list of one; every item is decoded
/// (each problem reported) before the list fails.
impl<T: Decode> Decode for Vec<T> {
    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        let mut out = Vec::new();
        let mut ok = true;
        for item in d.list(node) {
            match T::decode(item, d) {
                Some(value) => out.push(value),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }
    fn schema(generator: &mut SchemaGenerator) -> Schema {
        let item = schema_of::<T>(generator);
        json_schema!({ "anyOf": [ item.clone(), { "type": "array", "items": item } ] })
    }
}

impl<T: Decode> Decode for Box<T> {
    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        T::decode(node, d).map(Box::new)
    }
    fn schema(generator: &mut SchemaGenerator) -> Schema {
        schema_of::<T>(generator)
    }
}

impl Decode for Strings {
    const NAME: Option<&'static str> = Some("Strings");
    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        d.strings(node).map(Strings)
    }
    fn schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A string, or a list of strings (any of them).",
            "oneOf": [ { "type": "string" }, { "type": "array", "items": { "type": "string" } } ]
        })
    }
}

impl Decode for Pattern {
    const NAME: Option<&'static str> = Some("Pattern");
    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        d.pattern(node)
    }
    fn schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "format": "regex", "description": "A regular expression (Rust regex syntax)." })
    }
}

impl Decode for Patterns {
    const NAME: Option<&'static str> = Some("Patterns");
    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        d.patterns(node).map(Patterns)
    }
    fn schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A regular expression, or a list of them (any may match).",
            "oneOf": [
                { "type": "string", "format": "regex" },
                { "type": "array", "items": { "type": "string", "format": "regex" } }
            ]
        })
    }
}

/// Path globs (gitignore-style); branch globs are read with
/// `=> with(branch_globs)`.
impl Decode for Globs {
    const NAME: Option<&'static str> = Some("Globs");
    fn decode(node: &Node, d: &mut Decoder) -> Option<Self> {
        d.globs(node)
    }
    fn schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A glob, or a list of globs (gitignore-style: `*` within a folder, `**` across folders).",
            "oneOf": [ { "type": "string" }, { "type": "array", "items": { "type": "string" } } ]
        })
    }
}

/// Branch-name globs (`*` crosses `/`), for `=> with(branch_globs)`.
pub fn branch_globs(node: &Node, d: &mut Decoder) -> Option<Globs> {
    d.branch_globs(node)
}

/// A string that is not blank, for `=> with(non_empty)`.
pub fn non_empty(node: &Node, d: &mut Decoder) -> Option<Spanned<String>> {
    d.non_empty_string(node)
}

/// Gives the schemars types that still derive their schema the one a
/// [`Decode`] type describes.
macro_rules! json_schema_from_decode {
    ($($ty:ty),*) => {$(
        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                <Named<$ty> as JsonSchema>::schema_name()
            }
            fn schema_id() -> Cow<'static, str> {
                <Named<$ty> as JsonSchema>::schema_id()
            }
            fn json_schema(generator: &mut SchemaGenerator) -> Schema {
                <$ty as Decode>::schema(generator)
            }
        }
    )*};
}
json_schema_from_decode!(Strings, Pattern, Patterns, Globs);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::{Level, node};

    options! {
        /// A test type.
        #[options(what = "`sample`", check = needs_name_or_size, shorthand = TrueForDefaults)]
        #[derive(Debug, Default)]
        struct Sample {
            /// A name.
            name: Option<Spanned<String>> => with(non_empty),
            /// A size.
            size: u32 as "how_big" => default(|| 3) => check(below_ten),
            /// Levels.
            levels: Vec<Level>,
        }
    }

    options! {
        #[options(what = "`needy`")]
        #[derive(Debug)]
        #[expect(dead_code, reason = "a test type: only its decoding is checked")]
        struct Needy {
            /// Must be there.
            pattern: Pattern => required,
        }
    }

    names! {
        /// A colour.
        #[names(what = "colour", unknown = unknown_colour)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum Colour {
            Red = "red",
            Green = "green",
        }
    }

    fn unknown_colour(node: &Node) -> PolicyError {
        PolicyError::at(ErrorCode::UnknownValue, node.span, "red or green")
    }

    #[test]
    fn names_decode_with_suggestions_or_their_own_message() {
        let (level, errors) = decode::<Level>("notise");
        assert!(level.is_none());
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].contains("unknown level `notise`")
                && errors[0].contains("did you mean `notice`?"),
            "{}",
            errors[0]
        );
        let (colour, _) = decode::<Colour>("green");
        assert_eq!(colour, Some(Colour::Green));
        for text in ["blue", "3"] {
            let (colour, errors) = decode::<Colour>(text);
            assert!(colour.is_none());
            assert_eq!(errors.len(), 1, "{text}: {errors:?}");
            assert!(
                errors[0].contains("red or green"),
                "{text}: a non-string too: {}",
                errors[0]
            );
        }
        let schema = Colour::schema(&mut SchemaGenerator::default()).to_value();
        assert_eq!(schema["enum"], serde_json::json!(["red", "green"]));
        assert_eq!(schema["description"], "A colour.");
    }

    fn below_ten(size: &u32, key: &str, node: &Node) -> Result<(), PolicyError> {
        match *size < 10 {
            true => Ok(()),
            false => Err(PolicyError::at(
                ErrorCode::InvalidValue,
                node.span,
                format!("`{key}` too big"),
            )),
        }
    }

    fn needs_name_or_size(sample: &Sample, table: &Table<'_>) -> Result<(), PolicyError> {
        match sample.name.is_some() || sample.size != 3 {
            true => Ok(()),
            false => Err(PolicyError::at(
                ErrorCode::EmptyRequirement,
                table.span(),
                "needs something",
            )),
        }
    }

    fn decode<T: Decode>(text: &str) -> (Option<T>, Vec<String>) {
        let root = node::parse(text, 0).unwrap();
        let mut d = Decoder::default();
        let value = T::decode(&root, &mut d);
        let errors = d
            .errors
            .iter()
            .map(|e| format!("{}: {} ({:?})", e.code, e.message, e.help))
            .collect();
        (value, errors)
    }

    #[test]
    fn fields_decode_with_their_defaults_renames_and_one_or_many() {
        let (sample, errors) = decode::<Sample>("name: x\nlevels: warning\n");
        assert!(errors.is_empty(), "{errors:?}");
        let sample = sample.unwrap();
        assert_eq!(sample.name.unwrap().value, "x");
        assert_eq!(sample.size, 3, "the declared default");
        assert_eq!(
            sample.levels,
            [Level::Warning],
            "one item stands for a list of one"
        );
        let (sample, _) = decode::<Sample>("how_big: 5\n");
        assert_eq!(sample.unwrap().size, 5, "read under its renamed key");
        let (sample, errors) = decode::<Sample>("true");
        assert!(
            errors.is_empty() && sample.unwrap().levels.is_empty(),
            "the shorthand"
        );
    }

    #[test]
    fn every_problem_is_reported_and_none_is_a_value() {
        let (sample, errors) =
            decode::<Sample>("nam: x\nname: ''\nhow_big: 12\nlevels: [error, warnin, 3]\n");
        assert!(sample.is_none());
        assert_eq!(errors.len(), 5, "{errors:#?}");
        assert!(
            errors[0].contains("unknown key `nam` in `sample`")
                && errors[0].contains("did you mean `name`?"),
            "{}",
            errors[0]
        );
        assert!(errors[1].contains("must not be empty"), "{}", errors[1]);
        assert!(errors[2].contains("`how_big` too big"), "{}", errors[2]);
        assert!(
            errors[3].contains("unknown level `warnin`")
                && errors[3].contains("did you mean `warning`?"),
            "{}",
            errors[3]
        );
        assert!(
            errors[4].contains("expected a string, found"),
            "{}",
            errors[4]
        );
    }

    #[test]
    fn the_whole_is_checked_only_when_every_field_decoded() {
        let (sample, errors) = decode::<Sample>("{}");
        assert!(sample.is_none());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("needs something"));
        let (_, errors) = decode::<Sample>("name: 3\n");
        assert_eq!(errors.len(), 1, "only the field's error: {errors:?}");
    }

    #[test]
    fn a_required_field_that_is_missing_is_reported() {
        let (needy, errors) = decode::<Needy>("{}");
        assert!(needy.is_none());
        assert_eq!(errors.len(), 1);
        assert!(
            errors[0].contains("`needy` is missing `pattern`"),
            "{}",
            errors[0]
        );
        let (needy, errors) = decode::<Needy>("patern: x\n");
        assert!(needy.is_none());
        assert_eq!(
            errors.len(),
            1,
            "a misspelt key is reported once: {errors:?}"
        );
    }

    const KEYED: [Key; 2] = [
        Key::new("colour", "Its colour.", schema_of::<Colour>).required(),
        Key::new("size", "", |_| json_schema!({ "type": "integer" })),
    ];

    #[test]
    fn a_key_list_gives_the_keys_and_the_schema() {
        const NAMES: [&str; 2] = key_names(&KEYED);
        assert_eq!(NAMES, ["colour", "size"]);
        let root = node::parse("colour: red\nsise: 3\n", 0).unwrap();
        let mut d = Decoder::default();
        assert!(d.fields(&root, "a thing", &NAMES).is_some());
        assert_eq!(d.errors.len(), 1);
        assert_eq!(d.errors[0].help.as_deref(), Some("did you mean `size`?"));
        let mut generator = SchemaGenerator::default();
        let schema = keys_schema(&KEYED, &mut generator, "A thing.").to_value();
        assert_eq!(schema["description"], "A thing.");
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["required"], serde_json::json!(["colour"]));
        let colour = &schema["properties"]["colour"];
        assert_eq!(colour["description"], "Its colour.");
        assert_eq!(colour["$ref"], "#/$defs/Colour");
        assert!(
            schema["properties"]["size"].get("description").is_none(),
            "no empty description"
        );
        let keys: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["colour", "size"]);
    }

    options! {
        #[options(what = "`bounded`", constraint = NAMED_OR_LISTED)]
        #[derive(Debug)]
        struct Bounded {
            /// Items, when written: at least one.
            items: Option<Vec<u32>> => constraint(SOME_ITEM),
            /// A name.
            name: Option<String>,
        }
    }

    const SOME_ITEM: Constraint<Vec<u32>> = Constraint {
        check: |items, key, node| match items.is_empty() {
            true => Err(PolicyError::at(
                ErrorCode::Empty,
                node.span,
                format!("`{key}` is empty"),
            )),
            false => Ok(()),
        },
        schema: non_empty_list,
    };

    const NAMED_OR_LISTED: TableConstraint<Bounded> = TableConstraint {
        check: |bounded, table| match bounded.items.is_some() || bounded.name.is_some() {
            true => Ok(()),
            false => Err(PolicyError::at(
                ErrorCode::EmptyRequirement,
                table.span(),
                "asks nothing",
            )),
        },
        schema: |schema| {
            schema.insert("minProperties".into(), 1.into());
        },
    };

    /// A constraint is written once and yields both the check the loader
    /// runs and its schema fragment.
    #[test]
    fn a_constraint_is_both_a_check_and_a_schema_fragment() {
        let (bounded, errors) = decode::<Bounded>("items: []\n");
        assert!(bounded.is_none());
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("`items` is empty"), "{}", errors[0]);
        let (bounded, errors) = decode::<Bounded>("{}");
        assert!(bounded.is_none());
        assert!(errors[0].contains("asks nothing"), "{errors:?}");
        assert!(decode::<Bounded>("items: [1]\n").0.is_some());
        let schema = Bounded::schema(&mut SchemaGenerator::default()).to_value();
        assert_eq!(schema["minProperties"], 1);
        assert_eq!(schema["properties"]["items"]["anyOf"][1]["minItems"], 1);
    }

    #[test]
    fn the_schema_comes_from_the_same_fields() {
        let mut generator = SchemaGenerator::default();
        let sample = Sample::schema(&mut generator).to_value();
        assert_eq!(sample["description"], "A test type.");
        let object = &sample["anyOf"][1];
        assert_eq!(object["additionalProperties"], false);
        let keys: Vec<&String> = object["properties"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["how_big", "levels", "name"]);
        assert_eq!(object["properties"]["name"]["description"], "A name.");
        assert!(object.get("required").is_none());
        let needy = Needy::schema(&mut generator).to_value();
        assert_eq!(needy["required"], serde_json::json!(["pattern"]));
    }
}
