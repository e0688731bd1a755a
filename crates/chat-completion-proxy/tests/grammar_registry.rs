//! The `grammar-gbnf` feature links the GBNF grammar generator; without it there is
//! none (and `-grammar` wrappers send no grammar, with a warning).
//!
//! `cargo xtask test-all` runs this with all features, with each plugin feature alone
//! and with none.

use chat_completion_proxy::grammar::registered_grammar_generator;
use chat_completion_proxy::{FunctionSchema, GrammarStyle};

#[test]
fn a_grammar_generator_is_present_iff_its_feature_is_enabled() {
    let generator = registered_grammar_generator();
    assert_eq!(generator.is_some(), cfg!(feature = "grammar-gbnf"));
    if let Some(generator) = generator {
        let functions = [FunctionSchema {
            name: "send_message".to_owned(),
            description: Some("Sends a message.".to_owned()),
            parameters: None,
        }];
        let grammar = generator.generate(&functions, GrammarStyle::InnerThoughtsInParams.into());
        assert!(
            grammar.is_ok_and(|grammar| grammar.gbnf.contains("root ::=")),
            "the generator builds a grammar with a root rule"
        );
    }
}
