//! The evaluator: walks the AST over a grid of steps.
