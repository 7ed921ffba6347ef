"""Internal: helpers the book's notebooks share, one module per concern, dependencies pointing down:

- :mod:`anl.report.labels`: names of data sets, classes and noise settings, and how numbers are written;
- :mod:`anl.report.published`: the published numbers, read from a data file with their source;
- :mod:`anl.report.protocol`: protocol sentences drawn from run records;
- :mod:`anl.report.verdicts`: the verdict rule of the claims and the measures' equivalence margins;
- :mod:`anl.report.stats`: statistics of runs, rankings, findings, convergence and claim checks;
- :mod:`anl.report.tables`: tables of runs (DataFrames and Markdown);
- :mod:`anl.report.figures`: the figure style, the one palette of losses and shared figures;
- :mod:`anl.report.runs`: the runs a page reads, trained when missing (the only module that trains);
- :mod:`anl.report.readme`: the README's results tables, written from the records;
- :mod:`anl.report.tuning`: the tuning studies: searches, trials and the chosen settings beside the presets.

Every public name is importable from ``anl.report`` itself (``report.load_runs``).
"""

from anl.report.figures import (JOIN_COLOR, LINE_STYLES, LOSS_COLORS, MASK_NOISE_COLOR, SETTING_COLORMAP,
                                STYLE_KEY_COLOR, draw_loss_curves,
                                draw_masks, draw_transition_matrix, loss_colors, plot_accuracy_against_noise_rate,
                                plot_alpha_beta_grid, plot_curves, plot_tuning_trials, plot_curves_by_protocol, plot_curves_by_setting,
                                plot_delta_sweep, plot_example_predictions, plot_gradient_norms,
                                plot_mask_noise_examples, plot_predicted_class_shares, plot_segmentation_curves,
                                plot_style, plot_transition_matrices, setting_colors)
from anl.report.labels import (AUGMENTATION_NAMES, DATASET_NAMES, NOISE_KIND_NAMES, SHORT_CLASS_NAMES, class_names,
                               dataset_label, format_number, loss_label, mask_noise_label, nominal_rate, noise_cell,
                               noise_kind_label, noise_label, nowrap, plain)
from anl.report.protocol import (data_protocol, finding_prefix, protocol_caption, protocol_label, protocol_sentence,
                                 segmentation_protocol_sentence)
from anl.report.published import (PUBLISHED, PUBLISHED_DATASET, PUBLISHED_LABEL, PUBLISHED_SOURCE, PUBLISHED_STD,
                                  published_accuracy, published_cells, published_note, published_text)
from anl.report.readme import grid_results, refresh_readme
from anl.report.runs import RunSet, grid_status, load_runs, recorded_runs, run_status, section_runs
from anl.report.stats import (PLUS_MINUS, ClaimCheck, accuracy_at_epochs, convergence_bars, convergence_rule, ShorterProtocolCheck, bar_check, claim_check,
                              format_mean_std, loss_ranking, mean_std, optimiser_steps, predicted_share_divergence,
                              ranked_finding, ranking_line, realised_noise_rates, run_dynamics, shorter_protocol_check)
from anl.report.verdicts import CONFIDENCE, MEASURES, VERDICTS, Measure, Verdict, measure, rule_text, verdict
from anl.report.tables import (DETECTION_COLUMNS, HPARAM_SYMBOLS, PRECISION_METRICS, RUN_SCORES, PrecisionComparison, accuracy_table,
                               detection_finding, detection_runs, detection_table, markdown_table, out_of_sample_runs,
                               out_of_sample_table, noise_cells, noise_spec_table, precision_comparison, preset_table,
                               protocol_table, published_comparison, published_gaps, gap_finding, published_order,
                               run_scores_table, search_space_table, side_by_side, with_published, wrap_in_chunks)

__all__ = [
    "JOIN_COLOR", "LINE_STYLES", "LOSS_COLORS", "MASK_NOISE_COLOR", "SETTING_COLORMAP", "STYLE_KEY_COLOR", "draw_loss_curves", "draw_masks",
    "draw_transition_matrix",
    "loss_colors", "plot_accuracy_against_noise_rate", "plot_alpha_beta_grid", "plot_curves", "plot_tuning_trials",
    "plot_curves_by_protocol", "plot_curves_by_setting", "plot_delta_sweep", "plot_example_predictions",
    "plot_gradient_norms", "plot_mask_noise_examples", "plot_predicted_class_shares", "plot_segmentation_curves",
    "plot_style", "plot_transition_matrices", "setting_colors", "AUGMENTATION_NAMES", "DATASET_NAMES", "NOISE_KIND_NAMES",
    "SHORT_CLASS_NAMES", "class_names", "dataset_label", "format_number", "loss_label", "mask_noise_label", "noise_kind_label", "noise_label",
    "nominal_rate", "noise_cell", "nowrap", "plain", "data_protocol", "finding_prefix", "protocol_caption", "protocol_label", "protocol_sentence",
    "segmentation_protocol_sentence", "PUBLISHED", "PUBLISHED_DATASET", "PUBLISHED_LABEL", "PUBLISHED_SOURCE",
    "PUBLISHED_STD", "published_accuracy", "published_cells", "published_note", "published_text", "grid_results",
    "refresh_readme", "RunSet", "load_runs", "recorded_runs",
    "run_status", "grid_status", "section_runs", "PLUS_MINUS", "ClaimCheck", "accuracy_at_epochs", "convergence_bars",
    "convergence_rule", "ShorterProtocolCheck", "bar_check",
    "claim_check", "format_mean_std", "loss_ranking", "mean_std", "optimiser_steps", "predicted_share_divergence",
    "ranked_finding", "ranking_line", "realised_noise_rates", "run_dynamics", "shorter_protocol_check", "HPARAM_SYMBOLS",
    "PRECISION_METRICS", "RUN_SCORES", "PrecisionComparison", "accuracy_table", "markdown_table",
    "DETECTION_COLUMNS", "detection_finding", "detection_runs", "detection_table", "out_of_sample_runs", "out_of_sample_table",
    "noise_cells", "noise_spec_table", "precision_comparison", "preset_table", "protocol_table", "published_comparison", "published_gaps", "gap_finding",
    "published_order",
    "run_scores_table", "search_space_table", "side_by_side", "with_published", "wrap_in_chunks", "CONFIDENCE", "MEASURES", "VERDICTS",
    "Measure", "Verdict", "measure", "rule_text", "verdict",
]
