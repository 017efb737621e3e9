"""Feature drift between two data sets: PSI per feature, plus a sample-size-stable distance.

PSI (population stability index) compares the share of rows per bin in the *reference*
(champion's training data) and the *current* data (candidate's):
``PSI = sum_b (a_b - e_b) * ln(a_b / e_b)`` with ``e_b``, ``a_b`` the reference and current
shares. Every term is >= 0, so PSI >= 0, and it is 0 exactly when the shares agree.

Binning is always taken from the reference, so PSI is *not* symmetric: swapping the two
data sets changes the bins and, in general, the value. Example with 2 bins: reference
0..99 and current 0..49 give cut 49, current shares (1, 0) -> PSI 4.60 (the empty bin costs
ln(0.5 / epsilon)); swapped, the cut is 24 and the shares (0.25, 0.75) -> PSI 0.275.

* Numeric: cut points are the reference quantiles at 1/B, ..., (B-1)/B by the inverted-CDF
  rule (each cut is an observed value), ``np.unique``'d, and cuts equal to the reference
  maximum dropped. Bins are right-closed, ``(edges[b], edges[b+1]]``, with ``-inf`` / ``+inf``
  at the ends, so every bin holds reference rows and values outside the reference range land
  in the outer bins. Ties merge bins: a column with k distinct values gets at most k bins, and
  a constant reference column gets one bin (its PSI can then only come from the missing bin).
* Categorical: one bin per category seen in the reference, one ``<unseen>`` bin for categories
  the reference never had (present only when the current data has such rows).
* Missing values (NaN/None/NA) are a bin of their own, ``<missing>``, present when either side
  has any: a feature whose null rate jumps has drifted even if its observed values have not.

Zero shares: a bin empty on one side would make ``ln(a/e)`` infinite. Each side's zero shares
are replaced by ``epsilon`` (default 1e-4) and that side's shares renormalised to sum to 1.
The reported shares are the raw ones; only the PSI uses the smoothed shares. Bins empty on
both sides are never created, so epsilon only matters for real one-sided bins (an unseen
category, a new null rate, a reference bin the current data no longer reaches).

Chance alone gives PSI > 0: with no shift PSI is about chi-square(B - 1) * (1/N + 1/M), so its
expectation is :func:`expected_psi_no_shift`. The report shows it beside every PSI, and also a
distance whose scale does not depend on bins, epsilon or sample size: the Wasserstein
distance divided by the reference standard deviation for numeric features (Evidently's
"normed Wasserstein", in reference standard deviations; non-missing values only) and the
Jensen-Shannon distance, base 2, in [0, 1], for categoricals (on the same bins as PSI, raw
shares; Evidently uses the natural log, range [0, 0.833]). The two disagree by design: a
location shift of 0.1 sd is a normed Wasserstein of 0.1 but a PSI of only about 0.01, while a
jump in the null rate moves PSI and leaves the Wasserstein distance untouched.

Speed: a numeric column is sorted once per side (numpy's SIMD sort beats a quantile partition
plus a binary search per row); the cut points, the bin counts and the Wasserstein distance
are all read from the sorted arrays. Categoricals use ``value_counts``. No Python loop touches
rows.

Modules: :mod:`.binning` (input checks, reference-quantile cuts, category bins),
:mod:`.psi` (PSI per feature), :mod:`.distance` (normed Wasserstein, Jensen-Shannon),
:mod:`.report` (every feature of two frames, :func:`~.report.drift_report`) and
:mod:`.reference` (the drift stage's two frames: the candidate's and the champion's).
"""
