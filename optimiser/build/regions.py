"""The shipped real-data instances: which authorities, which consortia, which notes."""

from __future__ import annotations

from pathlib import Path

from optimiser.build import sources
from optimiser.build.assumptions import Assumptions
from optimiser.build.region import Region, build_tables
from optimiser.build.write import write_instance_folder

GREATER_MANCHESTER = ("Bolton", "Bury", "Manchester", "Oldham", "Rochdale", "Salford",
                      "Stockport", "Tameside", "Trafford", "Wigan")
LIVERPOOL_CITY_REGION = ("Halton", "Knowsley", "Liverpool", "Sefton", "St. Helens", "Wirral")
LANCASHIRE_AND_CUMBRIA = ("Lancashire", "Blackburn with Darwen", "Blackpool", "Cumberland",
                          "Westmorland and Furness")
CHESHIRE_AND_WARRINGTON = ("Cheshire East", "Cheshire West and Chester", "Warrington", "Halton")
NORTH_WEST = tuple(dict.fromkeys(GREATER_MANCHESTER + LIVERPOOL_CITY_REGION
                                 + LANCASHIRE_AND_CUMBRIA + CHESHIRE_AND_WARRINGTON))

NORTH_WEST_REGION = Region(
    slug="north-west",
    name="North West",
    description="The 24 North West authorities (2024 boundaries) and the providers registered "
                "in them: demand from DfE 2024 looked-after counts split by the national "
                "placement mix; supply from the Ofsted register (children's homes, residential "
                "special schools, family centres, fostering agencies) plus each authority's "
                "in-house fostering and a local supported-accommodation market.",
    authorities=NORTH_WEST,
    consortia={
        "North West": NORTH_WEST,
        "Greater Manchester": GREATER_MANCHESTER,
        "Liverpool City Region": LIVERPOOL_CITY_REGION,
        "Lancashire and Cumbria": LANCASHIRE_AND_CUMBRIA,
        "Cheshire and Warrington": CHESHIRE_AND_WARRINGTON,
    },
    notes=(
        ("Cumbria: DfE's 2024 counts are reported by its successors Cumberland (942) and "
        "Westmorland and Furness (943), and Cumbria's row is `z`, so the successors' own "
        "counts are used. The 2023 Ofsted register still files providers under Cumbria: each is "
        "given to a successor by its parliamentary constituency (Carlisle, Copeland, "
        "Workington -> Cumberland; Barrow and Furness, Penrith and The Border, Westmorland and "
        "Lonsdale -> Westmorland and Furness; see `optimiser/build/sources.py`)."),
        ("Halton belongs to both the Liverpool City Region and the Cheshire and Warrington "
        "groupings, as in the issue."),
        ("Providers in neighbouring regions are not added: the register gives no capacity "
        "that a North West framework could count on, and the DfE data show most placements "
        "within the region. Distances are great-circle x road_factor between authority "
        "centres (homes' addresses are redacted)."),
    ),
)


def england_region(folder: Path) -> Region:
    table = sources.authorities(folder)
    regions = {r: tuple(table[table["region"] == r]["name"]) for r in sorted(set(table["region"]))}
    return Region(
        slug="england",
        name="England",
        description="All 153 English children's services authorities and the national market "
                    "of the Ofsted register: the scale case. Built like the North West "
                    "instance (see its PROVENANCE.md).",
        authorities=tuple(table["name"]),
        consortia={"England": tuple(table["name"]), **regions},
        notes=("Consortia: England as a whole, and each region (London as Inner and Outer).",
               ("Northamptonshire: DfE's 2024 counts are reported by North (940) and West (941) "
               "Northamptonshire; the 2023 register already uses the successors.")),
    )


THAMES_VALLEY = ("Buckinghamshire", "Oxfordshire", "Hertfordshire", "Milton Keynes",
                 "Bracknell Forest", "Reading")

THAMES_VALLEY_REGION = Region(
    slug="thames-valley",
    name="Thames Valley",
    description="The complex-needs residential consortium of Buckinghamshire, Oxfordshire, "
                "Hertfordshire, Milton Keynes, Bracknell Forest and Reading, which jointly "
                "guaranteed a minimum of 20 places for five years so that providers could lower "
                "their price (reported as about £500 a week less per placement), with Bedford "
                "for the later membership. The block is a guarantee tier; the spot market the "
                "councils would otherwise use is the register's homes and residential special "
                "schools around them.",
    authorities=THAMES_VALLEY + ("Bedford",),
    consortia={"Thames Valley": THAMES_VALLEY, "Thames Valley with Bedford":
               THAMES_VALLEY + ("Bedford",)},
    types=("residential_complex", "residential_complex_fit"),
    market="block",
    notes=(
        ("Demand is each member's 2024 looked-after count x the national share of "
        "complex-needs residential placements (see the figures above): the instance's total "
        "demand equals that part of the DfE count."),
        ("The published saving figures are not consistent with each other: £500 a week x 20 "
        "places x 52 weeks is about £0.52m a year, against a reported £2.5m. Five years of "
        "£0.52m is £2.6m, so the £2.5m is plausibly the saving over the contract's life. The "
        "instance assumes the per-place figure: £500 a week off the block price on 20 "
        "guaranteed places (about £0.52m a year if all are used) and does not assume £2.5m "
        "a year."),
        ("The block's list price is the spot base price for complex needs (£9,500 a week, an "
        "assumption within the £6,800-15,000 range); the tier takes £500 off it."),
        ("The market is national: the sites around the members (within the spot radius, seen "
        "at the area's share) and every other authority's sites (seen at the members' share of "
        "England's children), each authority's sites pooled into one provider at its centre "
        "with distance, travel cost and locality as in every instance. England's register "
        "holds fewer complex-needs places than England's complex-needs demand, so even the "
        "national market leaves some children in emergency placements in high-demand years."),
        ("Only the children whose needs a block home meets (type `residential_complex_fit`, "
        "a fifth of complex-needs demand: `thames_valley_block_fit_share`) can use the block; "
        "they can also use any spot place (substitution). That is what makes a guarantee a "
        "decision: a block larger than the children who fit it leaves void places paid for, "
        "one smaller leaves them in dearer spot or emergency placements."),
        ("Swept with `--places TV-BLOCK=LO..HI`, the block is N places: its listed capacity is "
        "its guaranteed places, so it sells nothing outside its contract (README, Guarantee)."),
        ("Bedford is an instance authority but not a member of the 'Thames Valley' consortium; "
        "`--consortium 'Thames Valley with Bedford'` runs the later membership."),
        ("Contract forms (`optimise guarantee`, docs/model.md section 9.4): outcome-linked "
        "payment needs a length-of-stay distribution. Policy `mean_stay_years` is the Thames "
        "Valley members' mean time in care by Little's law (children looked after at 31 March "
        "2024 over children leaving care in the year, DfE, above), with an exponential stay. "
        "The same figure sets how far one year's demand persists into the next for the soft "
        "block's review: with arrivals as a Poisson process and exponential stays, the number "
        "in care a year apart has correlation exp(-1 / 2.46993) = 0.667 (the steady-state "
        "M/M/inf autocorrelation; docs/model.md section 9.4). "
        "It is time in care, used as a proxy for time in a placement: placements are shorter "
        "(children move between placements within one period in care), so more of a "
        "placement's days fall in the schedule's early, fully paid bands than assumed here; "
        "the expected payment is understated and the provider's loss overstated. The "
        "provider's margin (policy `provider_margin`, default 22.6%) is the Competition and "
        "Markets Authority's average operating profit margin of the largest children's homes "
        "providers (Children's social care market study, final report, March 2022; 19.4% for "
        "the largest fostering agencies); a place held open costs the provider as much as a "
        "used one (`provider_fixed_cost_share` 1: staffing), an assumption."),
    ),
)


def build_all(folder: Path, out: Path, assumptions: Assumptions | None = None) -> list[Path]:
    """Rebuild every shipped real-data instance from the raw files in ``folder``."""
    assumptions = assumptions or Assumptions()
    written = []
    for region in (NORTH_WEST_REGION, THAMES_VALLEY_REGION, england_region(folder)):
        built = build_tables(region, folder, assumptions)
        written.append(write_instance_folder(built, assumptions, out / region.slug))
    return written
