"""The compiler's diagnostic codes: input, names, values, sections, params, planning,
formats, verification and internal errors.  Backends register theirs through their
``codes`` class attribute; the language registers its syntax codes itself."""

from __future__ import annotations

from .dsl.diagnostics import register_codes, registered_codes
from .explanations import EXPLANATIONS

register_codes(
    "compiler",
    {
        # E00xx input
        "E0001": "the spec file cannot be read (missing, a directory, no permission)",
        "E0002": "empty spec: no auction or market block",
        "E0003": "the file is not UTF-8 text (binary data)",
        "E0004": "a spec larger than the front end reads, or more errors than it lists",
        "E0005": "the output directory is in use by another run, or holds another spec's output or a finished compile (--force)",
        "E0006": "a usage error: an unknown command or flag, a missing argument or value, a malformed NAME=VALUE",
        # E02xx names
        "E0201": "unknown name (not a param or common variable)",
        "E0202": "duplicate name or entry",
        "E0203": "unknown valuation kind",
        "E0204": "unknown distribution",
        "E0205": "unknown item",
        "E0206": "unknown format",
        "E0207": "unknown agent",
        "E0208": "unknown requirement",
        "E0209": "unknown objective, or an objective that is not a weighted sum of revenue and welfare",
        "E0210": "unknown option of a format or agent",
        "E0211": "unknown state",
        "E0212": "unknown action",
        "E0213": "unknown setting in simulate or verify",
        "E0214": "unknown CATS generator or distribution",
        "E0215": "unknown mode of a requirement",
        # E03xx values
        "E0300": "the spec does not form a valid IR (a gap in the checks; please report)",
        "E0301": "invalid distribution parameters",
        "E0302": "probabilities or weights that do not sum to 1",
        "E0303": "a probability outside [0, 1]",
        "E0304": "wrong arguments of a distribution, format, agent or generator",
        "E0305": "an option or setting of the wrong type",
        "E0306": "not a number where a number is needed",
        "E0307": "a count that is not a whole number >= 1",
        "E0308": "not a value expression (sum of distributions, common variables and constants)",
        "E0309": "an empty item range",
        "E0310": "an option value out of range",
        "E0311": "division by zero",
        "E0312": "a file the spec names (a prompt) is outside the spec's folder, missing, too big or not text",
        # E04xx sections
        "E0401": "nothing to do: no objective and no format",
        "E0403": "a format that contradicts a requirement (require IC with a format that is not strategy-proof)",
        "E0404": "a statement or requirement that does not belong in this kind of spec",
        "E0405": "no bidders or buyers",
        "E0406": "a missing section (items in an auction, states in a market)",
        "E0407": "a bidder without a valuation or without values for every item",
        "E0408": "a buyer without actions, payoffs or type",
        "E0409": "simulate without a format",
        "E0410": "a section or statement given twice",
        "E0411": "values that do not fit the valuation kind or the items",
        "E0412": "a signal without a value in a common-value auction",
        "E0414": "a belief type with more than two states",
        "E0415": "a value type without a prior over states",
        "E0416": "a belief type that does not fit its distribution (Dirichlet needs every state; a named state takes a probability)",
        "E0417": "a payoff scale or externality that can be negative",
        # E044x assignment specs (course allocation)
        "E0440": "an assignment without courses, students or a mechanism",
        "E0441": "a course or student statement given twice",
        "E0442": "unknown timetable, seat rule, preference generator, report model, proxy or assignment mechanism",
        "E0443": "assignment settings that do not fit together (popular courses, favourites, demand, grid, queries without a proxy)",
        "E0444": "a seat table or timetable entry that is not a course, or a slot that is not a whole number",
        # E05xx params and --set
        "E0501": "--set of an unknown param",
        "E0502": "--set value of the wrong type",
        "E0503": "a param that is not a literal",
        # E06xx backends
        "E0601": "unknown backend",
        "E0602": "unknown backend option",
        "E0603": "backend option of the wrong type",
        "E0604": "backend option out of range or not one of its choices",
        "E0605": "the named backend cannot take this spec",
        "E0606": "no installed backend accepts this spec",
        "E0608": "the backend cannot export its program to this target",
        "E0620": "a command that does not run this kind of spec (assignment specs run with `auctionc simulate`)",
        # E04xx formats (evaluating a named format on a spec)
        "E0420": "a format that does not fit the spec",
        "E0421": "too many items for a format over bundle bids",
        "E0422": "an invalid increment, reserve or entry fee",
        "E0423": "a posted price without a valid price",
        "E0424": "VCG that mixes additive and unit-demand bidders over many items",
        "E0425": "winner determination is not available",
        # E07xx solving and training
        "E0701": "a backend ran out of memory",
        "E0702": "a checkpoint that belongs to another run (spec, backend, options or seed) or is not plain data",
        "E0703": "an exported program was not solved to optimality (or not solved at all)",
        # E08xx model calls (auctionc.llm, shared by every backend with LLM agents; the
        # simulation backend registers its own E08xx codes beside these)
        "E0801": "an API key is missing or was rejected",
        "E0802": "the model provider kept rate-limiting",
        "E0803": "model calls timed out or failed repeatedly",
        "E0804": "the model server cannot be reached",
        "E0805": "the cost budget (--max-cost or --max-calls) was reached; the run stopped cleanly",
        "E0806": "the provider refused the request",
        "E0811": "the local model server cannot start, or no GGUF model was found",
        "E0812": "the spec names a model endpoint the user has not trusted with their API keys",
        "E0813": "--max-cost cannot bound a model without a price",
        # E09xx artifacts and verification
        "E0901": "the artifact cannot be read",
        "E0902": "unknown artifact kind",
        "E0903": "the artifact and the spec do not fit together, or there is nothing to verify",
        "E0904": "the spec cannot be sampled for verification, or no spec is known",
        "E0905": "too few verification samples",
        "E0906": "the artifact failed to evaluate reports",
        "E0907": "the artifact was made for another spec (its spec hash differs)",
        "E0908": "the artifact is malformed (a field missing or of the wrong type or shape, a side file outside its folder)",
        "E0909": "the artifact fails a validity check (shapes, world data, ranges, feasibility, stochasticity, finite payments)",
        "E0910": "the artifact's outcomes disagree with its structure, its proof or its backend's claim",
        "E0911": "the mechanism is not strategy-proof, individually rational or obedient within the tolerance",
        "E0999": "internal error (a bug in auctionc)",
        # E11xx sweeps
        "E1101": "a --set value list or range of a sweep that cannot be read",
        "E1102": "a --backend entry of a sweep that cannot be read",
        "E1103": "a --seeds value that cannot be read",
        "E1104": "the sweep directory's results table cannot be read, or another sweep is writing it",
        "E1105": "Ray is not installed, or the runtime or cluster cannot be started or reached",
        "E1106": "a sweep cell whose worker kept dying (recorded as an error row, rerun on resume)",
        "E1107": "an --option of a sweep that no backend of the sweep takes",
        "E1108": "a sweep option that needs --simulate, or a design backend given with --simulate",
    },
)

# the long explanations (``auctionc explain CODE``) live in their own module; re-registering
# under the same layer attaches them to the summaries above
register_codes(
    "compiler",
    {code: (entry.summary, EXPLANATIONS.get(code, "")) for code, entry in registered_codes().items()
     if entry.layer == "compiler"},
)
