"""Our labelling of seed 002: every spun phrase we are sure of, with its likely original.

Each entry is (context that occurs once in the text, the spun words inside it, the original).
Run it to regenerate ``labels.jsonl`` (offsets are computed, never typed by hand).
"""
from pathlib import Path

HERE = Path(__file__).parent
import json
text = open(HERE / '002_2ef1442c87ee1781.txt', encoding='utf-8').read()
# (context containing the spun phrase, spun phrase, original) -- context disambiguates the occurrence
L = [
 ("A proposition by China", "proposition", "proposal"),
 ("Russia to alleviate U.N.", "alleviate", "ease"),
 ("infrastructure tasks", "tasks", "projects"),
 ("at an essential moment", "an essential", "a critical"),
 ("“optimal pressure”", "optimal", "maximum"),
 ("consider raising sanctions", "raising", "lifting"),
 ("in 2018, nevertheless,", "nevertheless", "however"),
 ("Beijing have actually increasingly", "have actually", "have"),
 ("represents a brand-new level", "brand-new", "new"),
 ("rising stress", "stress", "tension"),
 ("likely collaborated with", "collaborated", "coordinated"),
 ("stated Artyom Lukin", "stated", "said"),
 ("a teacher at Far Eastern", "teacher", "professor"),
 ("recent risks of escalatory", "risks", "threats"),
 ("successfully damaging", "damaging", "undermining"),
 ("States’ present strategy", "present", "current"),
 ("North Korea, he stated.", "stated", "said"),
 ("Pyongyang has actually once", "has actually", "has"),
 ("North Korea has actually also", "has actually", "has"),
 ("competition in between terrific", "in between", "between"),
 ("terrific powers", "terrific", "great"),
 ("ally however which", "however", "but"),
 ("has likewise revealed", "likewise", "also"),
 ("likewise revealed willingness", "revealed", "shown"),
 ("as part of a handle North Korea", "a handle", "a deal with"),
 ("could just be alleviated", "just", "only"),
 ("just be alleviated through", "alleviated", "eased"),
 ("consensus amongst Security", "amongst", "among"),
 ("members and required diplomatic", "required", "called for"),
 ("uses field glasses", "field glasses", "binoculars"),
 ("to look throughout to North", "throughout", "across"),
 ("border in between Russia (L)", "in between", "between"),
 ("Moscow have actually revealed", "have actually", "have"),
 ("have actually revealed increasing", "revealed", "shown"),
 ("on the concern of security", "concern", "issue"),
 ("Russia’s financial interests", "financial", "economic"),
 ("government has actually specified", "has actually", "has"),
 ("actually specified that", "specified", "stated"),
 ("much greater opportunity than", "opportunity", "chance"),
 ("sanctions belong of the", "belong of", "are part of"),
 ("action prepare for peace", "prepare", "plan"),
 ("are 2 locations", "locations", "areas"),
 ("Rinna included.", "included", "added"),
 ("FINANCIAL LEVERAGE", "FINANCIAL", "ECONOMIC"),
 ("year-end due date", "due date", "deadline"),
 ("concessions like relieving", "relieving", "easing"),
 ("forced to select an", "select", "choose"),
 ("an undefined “brand-new", "undefined", "unspecified"),
 ("“brand-new path”", "brand-new", "new"),
 ("avoid a go back to the nuclear", "go back", "return"),
 ("(ICBM) introduces", "introduces", "launches"),
 ("countries to sign up with the United", "sign up with", "join"),
 ("the incorrect track", "incorrect", "wrong"),
 ("Pyongyang participates in more", "participates in", "engages in"),
 ("Chinese travelers", "travelers", "tourists"),
 ("warning indication", "indication", "sign"),
 ("hardline technique", "technique", "approach"),
 ("stated Andray", "stated", "said"),
 ("a going to scholar", "going to", "visiting"),
 ("traditionally have pressed", "traditionally", "historically"),
 ("have pressed back", "pressed", "pushed"),
 ("willing to penalize", "penalize", "punish"),
 ("Defense Priorities, a Washington-based think tank, stated", "stated", "said"),
 ("We do not understand what", "understand", "know"),
 ("recalculate its existing position", "existing", "current"),
 ("Modifying by", "Modifying", "Editing"),
 ("Lincoln Banquet", "Banquet", "Feast"),
]
spans = []
for ctx, spun, orig in L:
    i = text.find(ctx)
    assert i >= 0 and text.find(ctx, i + 1) < 0, ctx
    j = text.find(spun, i)
    assert 0 <= j < i + len(ctx), (ctx, spun)
    spans.append({"start": j, "end": j + len(spun), "text": spun, "original": orig})
spans.sort(key=lambda s: s["start"])
for a, b in zip(spans, spans[1:]):
    assert a["end"] <= b["start"], (a, b)
rec = {"path": "002_2ef1442c87ee1781.txt", "spans": spans}
with open(HERE / 'labels.jsonl', 'w', encoding='utf-8') as f:
    f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    f.write(json.dumps({"path": "000_37063bd84aa4b837.txt", "spans": []}) + "\n")
print(len(spans))
