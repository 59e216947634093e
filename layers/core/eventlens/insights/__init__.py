"""Product analytics over the event table (issue 12): trends, funnels, paths, stickiness, lifecycle and
retention, each asked with a JSON query and answered with its figures and the query as understood, and
cohorts saved for any of them to be filtered to.

One module per kind (``trends``, ``funnel``, ``paths``, ``stickiness``, ``lifecycle``, ``retention``,
``cohorts``); what they share is in ``query`` (the common body: range, timezone, filters, cohort, and
the SQL scope they make), ``filters`` (property filters with operators), ``periods`` (days, weeks and
months cut in the query's timezone), ``person_key`` (who a person is: the one place identity
stitching will change) and ``formula`` (the trends formula's parser).

Every query is of one project: each names ``project_id = {project:String}``, bound, for every table
it reads. User input reaches SQL only as bound parameters; the SQL text is assembled from fixed
pieces and identifiers chosen from fixed lists.
"""
