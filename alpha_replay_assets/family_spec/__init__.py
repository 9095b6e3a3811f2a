"""What an agent family is made of: its declaration (`family`), the decision fields a reply must
carry (`fields`), the comparators its scorer is composed of, the fit's feature extraction, the
structural scorer for undeclared families, and the synthetic corpus's side (`rule`, `synthetic`).
The families themselves are the modules of `alpha_replay_assets/families/`, and nothing else is.
"""
