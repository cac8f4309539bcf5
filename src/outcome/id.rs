//! The ids of findings that no rule of the policy produces: git-policy's own
//! (`explain` lists them beside the policy error codes).

macro_rules! finding_ids {
    ($( $(#[$doc:meta])* $variant:ident => $id:literal, $summary:literal, )*) => {
        /// A finding git-policy itself raises, not a rule of the policy.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum FindingId {
            $( $(#[$doc])* $variant, )*
        }

        impl FindingId {
            /// Every built-in finding id, in `explain`'s order.
            pub const ALL: &'static [FindingId] = &[$( FindingId::$variant, )*];

            /// The id findings carry (`rule` in JSON, SARIF and the comment).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $id, )*
                }
            }

            /// What the finding means, in one line.
            pub const fn summary(self) -> &'static str {
                match self {
                    $( Self::$variant => $summary, )*
                }
            }
        }
    };
}

finding_ids! {
    /// `engine`: a `fixup!`/`squash!` commit still in a pull request.
    SquashBeforeMerge => "squash-before-merge", "A `fixup!`/`squash!` commit is still in the pull request: it is exempt from commit rules only until it is squashed.",
    /// `evidence`: a change of the release that did not go through the gate.
    ReleaseEvidence => "release-evidence", "A change of the release did not go through the merge gate (pushed directly, merged while a rule failed, or not judged).",
    /// `check pr`: the pull request changes the policy files.
    ProposedPolicy => "proposed-policy", "The pull request changes the policy files: the base branch's policy decides the check; the proposed one takes effect once merged (a notice).",
    /// `waivers`: a waiver past its `expires` date.
    ExpiredWaiver => "expired-waiver", "A waiver past its `expires` date: it waives nothing any more.",
    /// `waivers`: a waiver whose subject was judged and that waived nothing.
    UnusedWaiver => "unused-waiver", "A waiver whose subject was judged in this run and that waived nothing.",
}

impl FindingId {
    /// The built-in id `id` names, if any.
    pub(crate) fn parse(id: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|f| f.as_str() == id)
    }
}

impl std::fmt::Display for FindingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
