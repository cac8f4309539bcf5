//! miette diagnostics over policy text: policy errors and findings.

use std::fmt;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError,
    MietteSpanContents, Severity, SourceCode, SourceSpan, SpanContents,
};

use crate::policy::{InvalidPolicy, PolicyError, PolicySource};

/// Policy text with its file name, borrowed (miette's `NamedSource` wants `'static`).
pub(crate) struct Named<'a> {
    pub(crate) name: &'a str,
    pub(crate) text: std::borrow::Cow<'a, str>,
}

impl<'a> Named<'a> {
    /// Escapes in the text never reach a terminal (offsets kept for the labels).
    pub(crate) fn new(name: &'a str, text: &'a str) -> Named<'a> {
        Named {
            name,
            text: super::inert::same_length(text),
        }
    }
}

impl SourceCode for Named<'_> {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner =
            self.text
                .as_ref()
                .read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(
            MietteSpanContents::new_named(
                shown(self.name).into_owned(),
                inner.data(),
                *inner.span(),
                inner.line(),
                inner.column(),
                inner.line_count(),
            )
            .with_language("yaml"),
        ))
    }
}

/// A diagnostic assembled from plain parts.
pub(crate) struct Plain<'a> {
    pub(crate) message: String,
    pub(crate) code: Option<String>,
    pub(crate) severity: Severity,
    pub(crate) help: Option<String>,
    pub(crate) label: Option<(String, SourceSpan)>,
    pub(crate) source: Option<Named<'a>>,
    pub(crate) related: Vec<Plain<'a>>,
}

impl fmt::Debug for Plain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Plain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Plain<'_> {}

impl Diagnostic for Plain<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.code
            .as_ref()
            .map(|c| Box::new(c) as Box<dyn fmt::Display>)
    }
    fn severity(&self) -> Option<Severity> {
        Some(self.severity)
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (text, span) = self.label.as_ref()?;
        self.source.as_ref()?;
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(text.clone()),
            *span,
        ))))
    }
    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn Diagnostic> + 'b>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(self.related.iter().map(|d| d as &dyn Diagnostic)))
    }
}

pub(crate) fn handler(color: bool, width: usize) -> GraphicalReportHandler {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    // Wrap between words only: a regex or path in a help text is never cut
    // at its hyphens or in the middle (it would not paste back).
    GraphicalReportHandler::new_themed(theme)
        .with_width(width)
        .with_break_words(false)
        .with_word_separator(textwrap::WordSeparator::AsciiSpace)
        .with_word_splitter(textwrap::WordSplitter::NoHyphenation)
        .with_context_lines(1)
}

pub(crate) fn render(diagnostic: &dyn Diagnostic, color: bool, width: usize) -> String {
    let mut out = String::new();
    if handler(color, width)
        .render_report(&mut out, diagnostic)
        .is_err()
    {
        out = format!("{diagnostic}\n");
    }
    out
}

fn named(source: &PolicySource) -> Named<'_> {
    Named::new(&source.name, &source.text)
}

/// A policy file's name as shown: a name with a line break or an escape
/// (a file a pull request added) cannot start a line of its own.
fn shown(name: &str) -> std::borrow::Cow<'_, str> {
    super::inert::one_line(name)
}

fn policy_error<'a>(error: &PolicyError, sources: &'a [PolicySource]) -> Plain<'a> {
    let source = error.span.and_then(|s| sources.get(s.file as usize));
    let message = match (error.span, source) {
        (Some(span), Some(source)) => format!(
            "{}:{}:{}: {}",
            shown(&source.name),
            span.line,
            span.column,
            super::inert::multi_line(&error.message)
        ),
        _ => super::inert::multi_line(&error.message).into_owned(),
    };
    Plain {
        message,
        code: Some(error.code.to_owned()),
        severity: Severity::Error,
        help: error.help.clone(),
        label: error.span.map(|s| (error.label.clone(), s.source_span())),
        source: source.map(named),
        related: Vec::new(),
    }
}

/// Every error of an invalid policy, each with its snippet.
pub(crate) fn render_policy_errors(invalid: &InvalidPolicy, color: bool, width: usize) -> String {
    let mut out = String::new();
    for error in &invalid.errors {
        out.push_str(&render(
            &policy_error(error, &invalid.sources),
            color,
            width,
        ));
    }
    let files: Vec<std::borrow::Cow<'_, str>> =
        invalid.sources.iter().map(|s| shown(&s.name)).collect();
    out.push_str(&format!(
        "error: the policy is invalid: {} in {}\n",
        crate::report::plural(invalid.errors.len(), "problem"),
        if files.is_empty() {
            String::from("no file")
        } else {
            files.join(", ")
        }
    ));
    out
}
