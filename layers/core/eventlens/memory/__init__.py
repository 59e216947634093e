"""Memory search: Life Stream's "second brain" (``POST /api/v1/search/memory``).

A question about a person's own life is answered in four steps, each a module:

1. ``question``: what is asked (``intents``) about when (``periods``, in the person's timezone, which
   ``clock`` resolves through the warehouse), in which language (``language``): rules, no model.
2. ``retrieval``: the events that answer it, from the warehouse (bound parameters, one project).
3. ``context``: what the habits graph adds (whom the person met, mined places, habits and routines);
   without a graph, the warehouse alone, and the answer says so.
4. ``compose``: the answer in the question's language, stating only what the evidence shows; an
   optional language model (``eventlens.rephrase``) may reword it, and is kept only when every number
   and name it writes is in the evidence.

``search.search_memory`` runs them.
"""
