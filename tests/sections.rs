//! The `sections` requirement reads a description as GitHub shows it to a
//! reviewer: each test is a description that the line-scanning reader of
//! old accepted although a reviewer sees no such section, or no words in it
//! (issue 21, part 5), next to a fair description that passes.

use git_policy::engine::evaluate;
use git_policy::facts::{PullRequest, Release, ReleasePage, Subject};
use git_policy::policy::{PolicySource, load};

const POLICY: &str = r#"
version: 1
rules:
  - id: bug-sections
    on: [pull_request]
    require:
      sections:
        - { heading: 'Steps to reproduce', min_words: 3 }
        - Environment
"#;

/// The findings on a pull request with this description.
fn judge(body: &str) -> Vec<String> {
    let policy = load(vec![PolicySource::new("p.yml", POLICY)]).expect("the policy loads");
    let pr = PullRequest {
        body: body.to_owned(),
        ..PullRequest::default()
    };
    evaluate(&policy, Subject::PullRequest(&pr))
        .into_iter()
        .map(|f| f.message.to_string())
        .collect()
}

const STEPS: &str = "## Steps to reproduce\nopen the app and click login\n";
const ENVIRONMENT: &str = "## Environment\nlinux\n";

fn passes(body: &str) {
    let found = judge(body);
    assert!(found.is_empty(), "expected a pass, got {found:?} for\n{body}");
}

fn missing(body: &str, heading: &str) {
    let found = judge(body);
    let wanted = format!("has no `{heading}` section");
    assert!(
        found.iter().any(|m| m.contains(&wanted)),
        "expected `{heading}` to be missing, got {found:?} for\n{body}"
    );
}

fn without_words(body: &str, heading: &str) {
    let found = judge(body);
    let named = format!("section `{heading}`");
    assert!(
        found
            .iter()
            .any(|m| m.contains(&named) && (m.contains("is empty") || m.contains("word(s)"))),
        "expected `{heading}` to have too few words, got {found:?} for\n{body}"
    );
}

#[test]
fn a_fair_description_passes() {
    passes(&format!("{STEPS}{ENVIRONMENT}"));
    passes("Steps to reproduce\n==\nopen the app, click login\n\n**Environment:** linux 6.1\n");
}

#[test]
fn a_fence_closed_by_a_shorter_fence_is_still_open() {
    // ```` is closed only by four or more backticks: the heading is code.
    missing(
        &format!("{STEPS}````\n```\n{ENVIRONMENT}````\n"),
        "Environment",
    );
    missing(&format!("{STEPS}~~~~\n~~~\n{ENVIRONMENT}~~~~\n"), "Environment");
    passes(&format!("{STEPS}````\n```\n````\n{ENVIRONMENT}"));
}

#[test]
fn a_fence_followed_by_text_does_not_close() {
    missing(
        &format!("{STEPS}```\n``` not a closer\n{ENVIRONMENT}```\n"),
        "Environment",
    );
    // A backtick fence's closer is no fence of the other kind either.
    missing(&format!("{STEPS}```\n~~~\n{ENVIRONMENT}```\n"), "Environment");
}

#[test]
fn a_fence_indented_four_spaces_does_not_close() {
    missing(
        &format!("{STEPS}```\n    ```\n{ENVIRONMENT}```\n"),
        "Environment",
    );
    missing(
        &format!("{STEPS}```\n\t```\n{ENVIRONMENT}```\n"),
        "Environment",
    );
}

#[test]
fn a_heading_indented_by_a_tab_or_four_spaces_is_code() {
    missing(&format!("{STEPS}\t## Environment\n\tlinux\n"), "Environment");
    missing(&format!("{STEPS}\n    **Environment:** linux\n"), "Environment");
}

#[test]
fn a_script_or_style_block_hides_a_heading() {
    // GitHub's sanitiser drops <script> and <style> with their content.
    missing(
        &format!("<script>\n{STEPS}</script>\n{ENVIRONMENT}"),
        "Steps to reproduce",
    );
    missing(
        &format!("{STEPS}<style>\n\n## Environment\n\nlinux\n</style>\n"),
        "Environment",
    );
}

#[test]
fn a_script_or_style_block_supplies_no_words() {
    without_words(
        &format!("## Steps to reproduce\n<style>\nopen the app and click login\n</style>\n{ENVIRONMENT}"),
        "Steps to reproduce",
    );
    without_words(
        &format!("## Steps to reproduce\nopen <script>the app and click login</script>\n{ENVIRONMENT}"),
        "Steps to reproduce",
    );
    without_words(
        &format!("{STEPS}## Environment\n<textarea>linux</textarea>\n"),
        "Environment",
    );
}

#[test]
fn an_html_block_shows_a_heading_as_text() {
    // Inside a raw HTML block Markdown is not read: `## Environment` is
    // shown as text, not as a heading, and so is a bold label.
    missing(
        &format!("{STEPS}<div>\n## Environment\nlinux\n</div>\n"),
        "Environment",
    );
    missing(
        &format!("{STEPS}<details>\n**Environment:** linux\n</details>\n"),
        "Environment",
    );
    // After a blank line it is Markdown again, even inside <details>.
    passes(&format!(
        "{STEPS}<details><summary>more</summary>\n\n{ENVIRONMENT}\n</details>\n"
    ));
}

#[test]
fn html_tags_and_their_attributes_are_no_words() {
    without_words(
        &format!("## Steps to reproduce\n<sub></sub> <sub></sub> <sub></sub>\n{ENVIRONMENT}"),
        "Steps to reproduce",
    );
    without_words(
        &format!("## Steps to reproduce\n<img src=\"x.png\" alt=\"open the app\"> <br>\n{ENVIRONMENT}"),
        "Steps to reproduce",
    );
    // What an allowed tag holds is shown.
    passes(&format!(
        "## Steps to reproduce\n<p>open the app <b>and</b> login</p>\n\n{ENVIRONMENT}"
    ));
}

#[test]
fn invisible_letters_are_no_words() {
    // U+3164 HANGUL FILLER and its kin are letters to Unicode and blank on
    // screen; zero-width and format characters join, they do not separate.
    for filler in ['\u{3164}', '\u{115F}', '\u{1160}', '\u{FFA0}'] {
        without_words(
            &format!("## Steps to reproduce\n{filler} {filler} {filler} {filler}\n{ENVIRONMENT}"),
            "Steps to reproduce",
        );
    }
    without_words(
        &format!("{STEPS}## Environment\n\u{200B}\u{3164}\u{200D} \u{2800} \u{0345}\u{0345}\n"),
        "Environment",
    );
    // Written as character references they are the same characters.
    without_words(
        &format!("{STEPS}## Environment\n&#x3164; &#12644; &nbsp; &ZeroWidthSpace;\n"),
        "Environment",
    );
    without_words(
        &format!("{STEPS}## Environment\n<p>&#x3164; &nbsp &shy;</p>\n"),
        "Environment",
    );
    // Zero-width spaces inside one visible word do not make it several.
    without_words(
        "## Steps to reproduce\nopen\u{200B}the\u{200B}app\n## Environment\nlinux",
        "Steps to reproduce",
    );
}

#[test]
fn a_placeholder_dressed_in_markup_is_still_a_placeholder() {
    for dressed in ["**N/A**", "_TBD_", "`TODO`", "[none](https://example.com)", "~~TBD~~"] {
        without_words(&format!("{STEPS}## Environment\n{dressed}\n"), "Environment");
    }
    // A table of placeholders.
    without_words(
        &format!("{STEPS}## Environment\n| TBD |\n|-----|\n| N/A |\n"),
        "Environment",
    );
    passes(&format!("{STEPS}## Environment\n| OS |\n|----|\n| linux |\n"));
}

#[test]
fn links_and_images_without_text_are_no_words() {
    without_words(
        &format!("## Steps to reproduce\n[](https://a) [](https://b) [](https://c)\n{ENVIRONMENT}"),
        "Steps to reproduce",
    );
    without_words(
        &format!("## Steps to reproduce\n![](a.png) ![](b.png) ![open the app](c.png)\n{ENVIRONMENT}"),
        "Steps to reproduce",
    );
    // A code fence's info string is not shown.
    without_words(
        &format!("{STEPS}## Environment\n```linux\n```\n"),
        "Environment",
    );
}

#[test]
fn link_reference_definitions_and_footnotes_supply_no_words() {
    // A definition renders as nothing, also over several lines with a title.
    without_words(
        &format!("## Steps to reproduce\n[a]:\n/url\n'open the app and click login'\n\n{ENVIRONMENT}"),
        "Steps to reproduce",
    );
    // A footnote no one refers to is not shown; one that is shows at the
    // end of the description, not in the section.
    without_words(
        &format!("## Steps to reproduce\n[^1]: open the app and click login\n\n{ENVIRONMENT}"),
        "Steps to reproduce",
    );
}

#[test]
fn a_heading_in_a_quote_or_a_list_ends_the_section_before_it() {
    // GitHub shows these as headings: the words under them are theirs.
    without_words(
        &format!("## Steps to reproduce\n> ## Notes\n> open the app and click login\n\n{ENVIRONMENT}"),
        "Steps to reproduce",
    );
    without_words(
        &format!("## Steps to reproduce\n- ## Notes\n  open the app and click login\n\n{ENVIRONMENT}"),
        "Steps to reproduce",
    );
    // And they are sections a policy can ask for.
    passes(&format!("{STEPS}> ## Environment\n> linux\n"));
}

#[test]
fn a_setext_underline_that_markdown_does_not_read_as_one_makes_no_heading() {
    // A lazy continuation line of a list item cannot be a setext heading.
    missing(
        &format!("{STEPS}- item\nEnvironment\n---\nlinux\n"),
        "Environment",
    );
    // An underline indented four spaces continues the paragraph.
    missing(&format!("{STEPS}Environment\n    ---\nlinux\n"), "Environment");
}

#[test]
fn a_bold_label_counts_only_where_github_shows_it_bold() {
    missing(&format!("{STEPS}** Environment:** linux\n"), "Environment");
    missing(&format!("{STEPS}`**Environment:**` linux\n"), "Environment");
    passes(&format!("{STEPS}**Environment:** linux\n"));
    passes(&format!("{STEPS}__Environment__: linux\n"));
}

#[test]
fn a_release_page_is_read_the_same_way() {
    let policy = load(vec![PolicySource::new(
        "p.yml",
        "version: 1\nrules:\n  - id: release-notes\n    on: [release]\n    require:\n      release_page:\n        sections: [Changes]\n",
    )])
    .expect("the policy loads");
    let judge_page = |text: &str| {
        let release = Release {
            version: Some(String::from("1.0.0")),
            page: Some(ReleasePage {
                path: String::from("docs/releases/1.0.0.md"),
                text: text.to_owned(),
            }),
            ..Release::default()
        };
        evaluate(&policy, Subject::Release(&release)).len()
    };
    assert_eq!(judge_page("## Changes\nfaster login\n"), 0);
    assert_eq!(judge_page("## Changes\n\u{3164} \u{3164}\n"), 1);
    assert_eq!(judge_page("```\n``` x\n## Changes\nfaster login\n```\n"), 1);
}
