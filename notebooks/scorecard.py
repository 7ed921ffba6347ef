# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Scorecard: the paper's experiments
#
# Every experiment of the ANL papers {cite}`ye2023active,ye2024active`, and how far this book
# reproduces it, in two separate columns computed from the run records in `results/`
# (`anl.scorecard`). *Coverage* says which runs are recorded, group by group, each group a section
# of runs of the page named in the last column, with its protocol, noise settings and seeds; its
# "R of N runs" is the count that page states. *Agreement* compares ours with the published
# numbers where they exist (mean over the recorded seeds, within 2 points of each published
# accuracy); else it gives the verdict of the experiment's claim at the paper's protocol with at
# least 3 seeds, by the rule of {doc}`claims`; else it says "not assessed". A row says
# *reproduced* only when agreement holds: every published number recorded and within 2 points, or
# the claim holding at every noise setting it is tested at.

# %% tags=["parameters"]
# The parameters a reader may set (papermill -p NAME VALUE); one left `...` keeps its default in
# anl.pages.Scorecard, and the page prints the values it runs with.
published_grids = ...
results_dir = ...

# %% tags=["hide-input"]
from IPython.display import Markdown, display

from anl import experiments, pages, report, scorecard
from anl.results import ResultsStore

page = pages.Scorecard.from_parameters(globals())  # a bad parameter stops the page here, in one line
display(Markdown(page.parameters_line()))
store = ResultsStore(page.results_dir)

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
display(Markdown(report.markdown_table(scorecard.scorecard(store, page_link=lambda page: f"{{doc}}`{page}`"))))

# %% [markdown]
# ## The published numbers beside ours
#
# The paper's own tables could not be obtained here; the published numbers available are CIFAR-10
# results of ANL re-reported by the Joint Asymmetric Loss paper {cite}`wang2025joint`, last-epoch
# test accuracy on the original images, without std, and, for the newest robust losses set beside
# ANL, those of their own papers (sources under the table). Ours are the mean over the
# recorded seeds of the same loss and noise setting in the paper-protocol grids named by the
# parameter `published_grids`, trained on a JPEG (quality 75) copy of CIFAR-10; "–" marks a
# setting not yet run.

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
display(Markdown(report.markdown_table(scorecard.published_beside_ours(store, page.published_grids))))
published_configs = [config for name in page.published_grids for config in experiments.grid(name)]
display(Markdown(f"*{report.published_note(published_configs)} Ours: CIFAR-10 (JPEG q75 copy), grids "
                 f"{', '.join(page.published_grids)}.*"))
