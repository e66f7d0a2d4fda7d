"""The search parity corpus: enriched articles about the June 2023 Wagner mutiny, and unrelated news.

Written for this project (fictional outlets, original text, real public events and people). Entities are canonical
names as the processors emit them and topics are the IPTC top-level labels, assigned here by hand, so the corpus
does not depend on the spaCy model. Two articles are in German, one in French and one has no language; one is a
syndicated copy (``duplicate_of``); several share a ``story_id``. Lengths vary from a headline with one sentence to
a long analysis, as in a real feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from newswire.contract import EnrichedArticle, Entity, Topic, article_id
from tests.factories import article_factory, enriched_factory

ENTITY_LABELS = {
    "Yevgeny Prigozhin": "PERSON",
    "Vladimir Putin": "PERSON",
    "Sergei Shoigu": "PERSON",
    "Valery Gerasimov": "PERSON",
    "Alexander Lukashenko": "PERSON",
    "Dmitry Peskov": "PERSON",
    "Sergei Sobyanin": "PERSON",
    "Alexander Gusev": "PERSON",
    "Andrew Bailey": "PERSON",
    "Christine Lagarde": "PERSON",
    "Marta Lindqvist": "PERSON",
    "Wagner Group": "ORG",
    "Russian Defence Ministry": "ORG",
    "FSB": "ORG",
    "Kremlin": "ORG",
    "Bank of England": "ORG",
    "European Central Bank": "ORG",
    "Central Bank of Russia": "ORG",
    "Met Office": "ORG",
    "Harbour City": "ORG",
    "Rostov-on-Don": "GPE",
    "Moscow": "GPE",
    "Belarus": "GPE",
    "Russia": "GPE",
    "Ukraine": "GPE",
    "Voronezh": "GPE",
    "Lipetsk": "GPE",
    "Bakhmut": "GPE",
    "Spain": "GPE",
    "Germany": "GPE",
    "M4 highway": "FAC",
}

SOURCES = {
    "Meridian Wire": "https://meridianwire.example",
    "Harbour Post": "https://harbourpost.example",
    "Capital Courier": "https://capitalcourier.example",
    "Northern Ledger": "https://northernledger.example",
    "Baltic Dispatch": "https://balticdispatch.example",
    "Nordkurier Netz": "https://nordkurier-netz.example",
    "La Gazette du Soir": "https://gazettedusoir.example",
}


@dataclass(frozen=True)
class Story:
    key: str
    source: str
    published: str
    title: str
    summary: str
    content: str
    entities: tuple[str, ...]
    topics: tuple[str, ...]
    story: str | None = None
    language: str | None = "en"
    duplicate_of: str | None = None


STORIES: tuple[Story, ...] = (
    Story(
        "m01",
        "Meridian Wire",
        "2023-06-23T19:20:00Z",
        "Prigozhin accuses defence chiefs of strike on Wagner camps",
        "The Wagner founder says the army shelled his men's rear positions and promises a response.",
        "Yevgeny Prigozhin accused Russia's military leadership on Friday evening of ordering strikes on rear camps "
        "of the Wagner Group in Ukraine. In audio messages on his Telegram channel he said many of his fighters had "
        "died and that the men responsible would be stopped. He named Defence Minister Sergei Shoigu and the chief "
        "of the general staff, Valery Gerasimov. He gave no evidence for the strike.",
        ("Yevgeny Prigozhin", "Wagner Group", "Sergei Shoigu", "Valery Gerasimov", "Ukraine", "Russia"),
        ("conflict_war_peace", "politics"),
        story="mutiny-start",
    ),
    Story(
        "m02",
        "Harbour Post",
        "2023-06-23T21:05:00Z",
        "Defence ministry denies attacking Wagner positions",
        "Moscow calls the claims an information provocation.",
        "The Russian Defence Ministry said messages about a strike on Wagner field camps did not match reality. "
        "Officials described them as a provocation and said Russian units were still fighting along the front.",
        ("Russian Defence Ministry", "Wagner Group", "Moscow"),
        ("conflict_war_peace",),
        story="mutiny-start",
    ),
    Story(
        "m03",
        "Capital Courier",
        "2023-06-23T22:40:00Z",
        "Security service opens case against Prigozhin for armed mutiny",
        "The FSB says the Wagner chief's statements are a call to armed rebellion.",
        "The FSB opened a criminal case against Yevgeny Prigozhin late on Friday, saying his statements amounted to "
        "a call for an armed mutiny. The service urged Wagner fighters not to follow his orders and to detain him. "
        "Armed mutiny carries a prison term of up to twenty years.",
        ("FSB", "Yevgeny Prigozhin", "Wagner Group"),
        ("crime_law_justice", "politics"),
        story="mutiny-start",
    ),
    Story(
        "m04",
        "Northern Ledger",
        "2023-06-24T00:15:00Z",
        "Wagner columns cross into Russia near Rostov",
        "Prigozhin says his men have entered the Rostov region and will go all the way.",
        "Prigozhin said in the early hours of Saturday that his units had crossed the border from Ukraine into the "
        "Rostov region and that they would destroy anyone who stood in their way. Border posts were not defended, "
        "he said. Checkpoints went up on roads around Rostov-on-Don overnight.",
        ("Yevgeny Prigozhin", "Wagner Group", "Rostov-on-Don", "Ukraine"),
        ("conflict_war_peace",),
        story="rostov",
    ),
    Story(
        "m05",
        "Meridian Wire",
        "2023-06-24T05:30:00Z",
        "Wagner fighters take control of military headquarters in Rostov-on-Don",
        "Armed men in combat gear guard the Southern Military District building.",
        "Wagner fighters took control of the headquarters of the Southern Military District in Rostov-on-Don on "
        "Saturday morning. Prigozhin said in a video filmed in the courtyard that his men controlled the military "
        "sites of the city, including the airfield, and demanded that Shoigu and Gerasimov come to meet him. "
        "Armoured vehicles stood in the streets of the city centre.",
        ("Wagner Group", "Rostov-on-Don", "Yevgeny Prigozhin", "Sergei Shoigu", "Valery Gerasimov"),
        ("conflict_war_peace",),
        story="rostov",
    ),
    Story(
        "m06",
        "Harbour Post",
        "2023-06-24T05:55:00Z",
        "Wagner fighters take control of military headquarters in Rostov-on-Don",
        "Armed men in combat gear guard the Southern Military District building.",
        "Wagner fighters took control of the headquarters of the Southern Military District in Rostov-on-Don on "
        "Saturday morning. Prigozhin said in a video filmed in the courtyard that his men controlled the military "
        "sites of the city, including the airfield, and demanded that Shoigu and Gerasimov come to meet him. "
        "Armoured vehicles stood in the streets of the city centre. (Meridian Wire)",
        ("Wagner Group", "Rostov-on-Don", "Yevgeny Prigozhin", "Sergei Shoigu", "Valery Gerasimov"),
        ("conflict_war_peace",),
        story="rostov",
        duplicate_of="m05",
    ),
    Story(
        "m07",
        "Capital Courier",
        "2023-06-24T06:10:00Z",
        "Prigozhin demands to meet Shoigu and Gerasimov",
        "The Wagner chief says he will blockade Rostov-on-Don and march on Moscow unless the two come.",
        "Yevgeny Prigozhin said he would not leave Rostov-on-Don until Sergei Shoigu and Valery Gerasimov came to see "
        "him. Otherwise, he said, his men would blockade the city and head for Moscow.",
        ("Yevgeny Prigozhin", "Sergei Shoigu", "Valery Gerasimov", "Rostov-on-Don", "Moscow"),
        ("conflict_war_peace", "politics"),
        story="rostov",
    ),
    Story(
        "m08",
        "Baltic Dispatch",
        "2023-06-24T07:05:00Z",
        "Putin calls the armed mutiny a stab in the back",
        "In a televised address the president promises tough action against those behind the rebellion.",
        "Vladimir Putin said in a short televised address on Saturday that the armed mutiny was treason and a stab "
        "in the back of the country and its people. Those who had chosen the path of treason would be punished, he "
        "said, without naming Prigozhin. Putin said the situation in Rostov-on-Don remained difficult.",
        ("Vladimir Putin", "Yevgeny Prigozhin", "Rostov-on-Don", "Russia"),
        ("politics", "conflict_war_peace"),
        story="putin-address",
    ),
    Story(
        "m09",
        "Meridian Wire",
        "2023-06-24T07:20:00Z",
        "Putin vows harsh response to treason",
        "The Kremlin leader says the army has received the orders it needs.",
        "President Vladimir Putin said the armed forces had received the necessary orders to deal with the mutiny "
        "and that anti-terrorist measures were being taken in Moscow and other regions. Putin said personal "
        "ambitions had led to treason.",
        ("Vladimir Putin", "Moscow", "Kremlin"),
        ("politics", "conflict_war_peace"),
        story="putin-address",
    ),
    Story(
        "m10",
        "Northern Ledger",
        "2023-06-24T08:45:00Z",
        "Residents of Rostov-on-Don film tanks in the city centre",
        "Some locals bring food and water to the fighters; others stay indoors.",
        "People in Rostov-on-Don filmed tanks outside the circus building and near the central market on Saturday "
        "morning. Shops on the main avenue stayed shut. A taxi driver said life was otherwise normal and that the "
        "fighters were polite. Some residents brought coffee and water to the men in combat gear.",
        ("Rostov-on-Don",),
        ("conflict_war_peace", "society"),
        story="rostov",
    ),
    Story(
        "m11",
        "Harbour Post",
        "2023-06-24T09:30:00Z",
        "Moscow declares counter-terrorism regime",
        "Security is tightened across the capital and the surrounding region.",
        "Authorities declared a counter-terrorism regime in Moscow and the Moscow region on Saturday, allowing police "
        "to check documents, stop traffic and listen to phone calls. Mayor Sergei Sobyanin said the measures were "
        "needed to protect residents. Troops and armoured vehicles took up positions on the southern approaches to "
        "the capital.",
        ("Moscow", "Sergei Sobyanin"),
        ("politics", "crime_law_justice"),
        story="moscow-security",
    ),
    Story(
        "m12",
        "Capital Courier",
        "2023-06-24T10:05:00Z",
        "Wagner convoy moves north along the M4 through the Voronezh region",
        "Military vehicles are seen on the highway towards Moscow.",
        "A Wagner convoy of trucks and armoured vehicles moved north along the M4 highway through the Voronezh region "
        "on Saturday, heading for Moscow. Governor Alexander Gusev said the army was carrying out operations in the "
        "region. A fuel depot near Voronezh caught fire.",
        ("Wagner Group", "M4 highway", "Voronezh", "Alexander Gusev", "Moscow"),
        ("conflict_war_peace",),
        story="convoy",
    ),
    Story(
        "m13",
        "Baltic Dispatch",
        "2023-06-24T11:15:00Z",
        "Voronezh governor reports military operations",
        "Residents are told to avoid the M4.",
        "Voronezh governor Alexander Gusev told residents to avoid travelling on the M4 highway as the army carried "
        "out what he called counter-terrorism operations.",
        ("Voronezh", "Alexander Gusev", "M4 highway"),
        ("conflict_war_peace",),
        story="convoy",
    ),
    Story(
        "m14",
        "Meridian Wire",
        "2023-06-24T12:40:00Z",
        "Aircraft lost as the convoy heads for Moscow",
        "Pilots are reported killed when helicopters and a command plane are shot down.",
        "Several Russian military helicopters and a command aircraft were shot down as the Wagner convoy moved "
        "north, military bloggers reported. The convoy passed Lipetsk and was said to be about 200 kilometres from "
        "Moscow by the afternoon. Road crews dug up sections of the highway to slow its advance.",
        ("Wagner Group", "Lipetsk", "Moscow"),
        ("conflict_war_peace",),
        story="convoy",
    ),
    Story(
        "m15",
        "Northern Ledger",
        "2023-06-24T13:10:00Z",
        "Moscow mayor asks residents to stay at home",
        "Monday is declared a non-working day in the capital.",
        "Sergei Sobyanin asked Moscow residents to limit travel around the city and declared Monday a non-working "
        "day. Parks and museums closed early. Traffic on the southern ring road was restricted.",
        ("Sergei Sobyanin", "Moscow"),
        ("politics", "society"),
        story="moscow-security",
    ),
    Story(
        "m16",
        "Harbour Post",
        "2023-06-24T14:55:00Z",
        "Traders brace for Monday after weekend turmoil in Russia",
        "Oil and grain markets will open with the mutiny in view.",
        "Analysts said oil and wheat prices could jump when markets open on Monday if the unrest in Russia "
        "spread. Russia is one of the largest exporters of both. Several banks told clients they were watching the "
        "situation around Moscow closely.",
        ("Russia", "Moscow"),
        ("economy_business_finance",),
    ),
    Story(
        "m17",
        "Capital Courier",
        "2023-06-24T17:20:00Z",
        "Lukashenko says he negotiated an end to the Wagner advance",
        "Belarus says Prigozhin accepted a deal after a day of talks.",
        "Alexander Lukashenko said on Saturday evening that he had persuaded Yevgeny Prigozhin to halt the march of "
        "Wagner fighters on Moscow. The Belarusian leader's office said the talks lasted the whole day and that the "
        "deal, agreed with Vladimir Putin, offered security guarantees to the fighters.",
        ("Alexander Lukashenko", "Yevgeny Prigozhin", "Wagner Group", "Belarus", "Moscow", "Vladimir Putin"),
        ("politics", "conflict_war_peace"),
        story="deal",
    ),
    Story(
        "m18",
        "Meridian Wire",
        "2023-06-24T17:45:00Z",
        "Prigozhin orders his fighters to turn back",
        "The Wagner chief says he is pulling back to avoid spilling Russian blood.",
        "Yevgeny Prigozhin said his columns were turning around and returning to their field camps, 200 kilometres "
        "short of Moscow, to avoid bloodshed. He did not mention the deal brokered by Alexander Lukashenko.",
        ("Yevgeny Prigozhin", "Moscow", "Alexander Lukashenko"),
        ("conflict_war_peace",),
        story="deal",
    ),
    Story(
        "m19",
        "Baltic Dispatch",
        "2023-06-24T18:30:00Z",
        "Kremlin says case against Prigozhin will be dropped and he will go to Belarus",
        "Fighters who took part in the march will not be prosecuted, the Kremlin spokesman says.",
        "Dmitry Peskov said the criminal case against Yevgeny Prigozhin would be closed and that Prigozhin would "
        "leave for Belarus. Wagner fighters who joined the march would not face charges, in view of their service "
        "at the front, and those who had not taken part could sign contracts with the Russian Defence Ministry. "
        "Peskov said the deal was meant to avoid bloodshed and that Alexander Lukashenko had offered to mediate.",
        (
            "Dmitry Peskov",
            "Yevgeny Prigozhin",
            "Belarus",
            "Wagner Group",
            "Russian Defence Ministry",
            "Kremlin",
            "Alexander Lukashenko",
        ),
        ("politics", "crime_law_justice"),
        story="deal",
    ),
    Story(
        "m20",
        "Northern Ledger",
        "2023-06-24T20:50:00Z",
        "Prigozhin leaves Rostov-on-Don to cheers",
        "Crowds cheer as the Wagner chief's car pulls away from the military headquarters.",
        "Yevgeny Prigozhin left the headquarters in Rostov-on-Don late on Saturday in a sport utility vehicle as "
        "crowds cheered and some people shook his hand. Wagner fighters withdrew from the city in the hours that "
        "followed, and police returned to the streets.",
        ("Yevgeny Prigozhin", "Rostov-on-Don", "Wagner Group"),
        ("conflict_war_peace",),
        story="rostov",
    ),
    Story(
        "m21",
        "Harbour Post",
        "2023-06-25T08:00:00Z",
        "Questions over Shoigu's future after the mutiny",
        "The defence minister has not been seen in public since the rebellion began.",
        "Sergei Shoigu, whose dismissal was Prigozhin's main demand, has not appeared in public since Friday. The "
        "deal struck on Saturday did not say whether he would keep his post. Commentators in Moscow said Putin rarely "
        "dismisses officials under pressure.",
        ("Sergei Shoigu", "Yevgeny Prigozhin", "Moscow", "Vladimir Putin"),
        ("politics",),
        story="aftermath",
    ),
    Story(
        "m22",
        "Meridian Wire",
        "2023-06-25T10:30:00Z",
        "Moscow lifts traffic restrictions as troops leave the roads",
        "Traffic is back to normal on the highways south of the capital.",
        "Authorities lifted traffic restrictions on the M4 highway and around Moscow on Sunday. Road crews began "
        "repairing sections dug up the day before. The counter-terrorism regime remained in force.",
        ("Moscow", "M4 highway"),
        ("society", "politics"),
        story="moscow-security",
    ),
    Story(
        "m23",
        "Nordkurier Netz",
        "2023-06-25T09:15:00Z",
        "Wagner-Chef Prigoschin zieht Kämpfer zurück",
        "Nach Vermittlung aus Belarus endet der Marsch auf Moskau.",
        "Der Chef der Söldnertruppe Wagner, Jewgeni Prigoschin, hat seine Kämpfer nach eigenen Angaben zurück in "
        "ihre Lager geschickt. Der belarussische Machthaber Alexander Lukaschenko hatte zuvor vermittelt. "
        "Prigoschin soll nach Belarus ausreisen.",
        ("Yevgeny Prigozhin", "Wagner Group", "Belarus", "Alexander Lukashenko"),
        ("conflict_war_peace", "politics"),
        story="deal",
        language="de",
    ),
    Story(
        "m24",
        "Capital Courier",
        "2023-06-26T09:10:00Z",
        "Shoigu shown visiting troops in first video since the mutiny",
        "The defence ministry releases footage of the minister at a command post.",
        "The Russian Defence Ministry released a video of Sergei Shoigu visiting a command post of troops fighting "
        "in Ukraine. It was the first footage of the minister since the mutiny. The ministry did not say when it "
        "was filmed.",
        ("Sergei Shoigu", "Russian Defence Ministry", "Ukraine"),
        ("conflict_war_peace", "politics"),
        story="aftermath",
    ),
    Story(
        "m25",
        "Baltic Dispatch",
        "2023-06-26T15:45:00Z",
        "Prigozhin breaks his silence and says the march was a protest",
        "In an eleven-minute audio message the Wagner chief says he never meant to overthrow the government.",
        "Yevgeny Prigozhin said in an audio message on Monday that the march on Moscow had been a protest against "
        "plans to disband the Wagner Group, not an attempt to seize power. He said his men had shown the weakness "
        "of the country's defences by covering hundreds of kilometres without resistance. He did not say where he "
        "was speaking from. He also said Alexander Lukashenko had offered Wagner a way to keep working from "
        "Belarus.",
        ("Yevgeny Prigozhin", "Wagner Group", "Moscow", "Alexander Lukashenko", "Belarus"),
        ("conflict_war_peace", "politics"),
        story="aftermath",
    ),
    Story(
        "m26",
        "Meridian Wire",
        "2023-06-26T20:05:00Z",
        "Putin thanks troops for preventing civil war",
        "In a late-evening address the president says the organisers of the mutiny betrayed the country.",
        "Vladimir Putin said in a televised address on Monday night that the organisers of the mutiny had wanted "
        "Russians to kill each other, and thanked the armed forces and the security services for standing firm. He "
        "said Wagner fighters could sign contracts with the army, go home, or move to Belarus. Putin thanked "
        "Alexander Lukashenko for his role in resolving the crisis peacefully.",
        ("Vladimir Putin", "Wagner Group", "Belarus", "Alexander Lukashenko"),
        ("politics", "conflict_war_peace"),
        story="putin-address",
    ),
    Story(
        "m27",
        "Northern Ledger",
        "2023-06-27T07:30:00Z",
        "Lukashenko confirms Prigozhin is in Belarus",
        "The Belarusian leader says Wagner fighters may use an abandoned military base.",
        "Alexander Lukashenko said on Tuesday that Yevgeny Prigozhin was in Belarus. He said Wagner fighters could "
        "stay for a while at their own expense and that Belarus could learn from their experience. He said he had "
        "persuaded Prigozhin on the phone on Saturday, using strong language.",
        ("Alexander Lukashenko", "Yevgeny Prigozhin", "Belarus", "Wagner Group"),
        ("politics",),
        story="aftermath",
    ),
    Story(
        "m28",
        "Harbour Post",
        "2023-06-27T10:20:00Z",
        "Wagner to hand over heavy weapons, defence ministry says",
        "Preparations are under way for the transfer of tanks and artillery to the army.",
        "The Russian Defence Ministry said preparations were under way for the Wagner Group to hand over its heavy "
        "military equipment to regular units.",
        ("Russian Defence Ministry", "Wagner Group"),
        ("conflict_war_peace",),
        story="aftermath",
    ),
    Story(
        "m29",
        "Capital Courier",
        "2023-06-27T12:00:00Z",
        "Security service closes the armed mutiny case",
        "Investigators found that those involved stopped the actions aimed at the crime.",
        "The FSB said on Tuesday that it had closed the criminal case into the armed mutiny because the people "
        "involved had stopped the actions directly aimed at committing the crime. Prigozhin will not be charged.",
        ("FSB", "Yevgeny Prigozhin"),
        ("crime_law_justice", "politics"),
        story="aftermath",
    ),
    Story(
        "m30",
        "La Gazette du Soir",
        "2023-06-24T16:00:00Z",
        "Le groupe Wagner avance vers Moscou",
        "Les colonnes de Prigojine ont traversé la région de Voronej.",
        "Les combattants du groupe Wagner, menés par Evgueni Prigojine, ont remonté l'autoroute M4 en direction de "
        "Moscou samedi. Le Kremlin a renforcé la sécurité dans la capitale, où des barrages ont été installés.",
        ("Wagner Group", "Yevgeny Prigozhin", "Moscow", "Voronezh", "M4 highway", "Kremlin"),
        ("conflict_war_peace",),
        story="convoy",
        language="fr",
    ),
    Story(
        "m31",
        "Meridian Wire",
        "2023-06-27T18:40:00Z",
        "Analysis: what the mutiny means for the war in Ukraine",
        "A day of rebellion exposed divisions in the Russian military, but the front line barely moved.",
        "The mutiny lasted less than twenty-four hours, but it showed how deep the quarrel between the Wagner Group "
        "and the Russian Defence Ministry had become. Wagner fighters had led the long battle for Bakhmut, and "
        "Prigozhin spent months accusing Shoigu and Gerasimov of starving his men of ammunition.\n\n"
        "Military analysts said the immediate effect on the front in Ukraine was small: Wagner units had already "
        "been withdrawn from the line before the rebellion. The longer-term effect is harder to judge. Several "
        "thousand experienced fighters may now leave for Belarus, sign army contracts or go home.\n\n"
        "For Vladimir Putin, the episode raised questions that the Kremlin has not answered: why the convoy met so "
        "little resistance on the M4, why the deal was brokered by Alexander Lukashenko, and why the men who "
        "organised an armed mutiny will not stand trial. Officials in Moscow said the state had shown it was strong. "
        "Diplomats in Kyiv and in European capitals drew the opposite conclusion.\n\n"
        "Ukraine's forces, meanwhile, pressed on with their counter-offensive in the south and east, and said the "
        "turmoil in Russia was an opportunity. Russian troops held their positions.",
        (
            "Ukraine",
            "Wagner Group",
            "Russian Defence Ministry",
            "Bakhmut",
            "Yevgeny Prigozhin",
            "Sergei Shoigu",
            "Valery Gerasimov",
            "Belarus",
            "Vladimir Putin",
            "Kremlin",
            "M4 highway",
            "Alexander Lukashenko",
            "Moscow",
            "Russia",
        ),
        ("conflict_war_peace", "politics"),
        story="aftermath",
    ),
    # --- unrelated news -------------------------------------------------------------------------------------------
    Story(
        "s01",
        "Harbour Post",
        "2023-06-24T16:30:00Z",
        "Late goal sends Harbour City into the cup final",
        "A header in the 89th minute settles a tense semi-final.",
        "Harbour City reached the cup final with a 2-1 win on Saturday, their captain heading in a corner in the "
        "89th minute. The visitors had equalised early in the second half and hit the post twice. The final will "
        "be played in three weeks.",
        ("Harbour City",),
        ("sport",),
    ),
    Story(
        "s02",
        "Capital Courier",
        "2023-06-25T18:00:00Z",
        "Lindqvist wins grass-court warm-up without dropping a set",
        "The top seed beats a qualifier in the final ahead of the championships.",
        "Marta Lindqvist won the grass-court tournament on Sunday without dropping a set, beating a qualifier "
        "6-3 6-4 in the final. She said her serve was in good shape before the championships start next week.",
        ("Marta Lindqvist",),
        ("sport",),
    ),
    Story(
        "s03",
        "Northern Ledger",
        "2023-06-26T19:45:00Z",
        "Sprinter takes the stage in a rain-soaked finale",
        "Crashes in the last kilometre split the bunch on wet roads.",
        "A late crash on wet roads split the bunch in the last kilometre of Monday's stage, and the sprinter who "
        "stayed upright won by a bike length. Rain fell for most of the afternoon. The race leader lost no time.",
        (),
        ("sport", "weather"),
    ),
    Story(
        "s04",
        "Meridian Wire",
        "2023-06-23T14:00:00Z",
        "National record falls in the 800 metres",
        "A 19-year-old runner takes almost a second off the old mark.",
        "A 19-year-old runner set a national record in the 800 metres at a meeting on Friday, finishing in one "
        "minute 44.3 seconds.",
        (),
        ("sport",),
    ),
    Story(
        "e01",
        "Meridian Wire",
        "2023-06-22T13:05:00Z",
        "Bank of England raises interest rates to 5%",
        "A bigger rise than expected as inflation stays high.",
        "The Bank of England raised interest rates by half a percentage point to 5% on Thursday, its largest move "
        "since February, after inflation stayed well above target. Governor Andrew Bailey said the bank knew the "
        "rise would be hard for many people with mortgages and loans, but that bringing inflation down was vital.",
        ("Bank of England", "Andrew Bailey"),
        ("economy_business_finance",),
        story="rates",
    ),
    Story(
        "e02",
        "Capital Courier",
        "2023-06-22T15:30:00Z",
        "Mortgage rates climb after surprise rate rise",
        "Lenders pull deals and reprice fixed-rate mortgages.",
        "Several lenders withdrew mortgage deals on Thursday afternoon after the Bank of England's rate rise, and "
        "average two-year fixed rates rose again. Brokers said borrowers coming off cheap deals faced much higher "
        "payments. Rates on savings accounts rose more slowly.",
        ("Bank of England",),
        ("economy_business_finance",),
        story="rates",
    ),
    Story(
        "e03",
        "Harbour Post",
        "2023-06-26T11:00:00Z",
        "Rouble slides to its lowest level since March after the weekend turmoil",
        "Investors weigh the political risk in Russia after the mutiny.",
        "The rouble fell to its weakest level against the dollar in almost three months on Monday as investors "
        "weighed the weekend's armed mutiny. The Central Bank of Russia said the financial system was stable. Oil "
        "prices rose slightly in early trading and then fell back.",
        ("Central Bank of Russia", "Russia"),
        ("economy_business_finance",),
    ),
    Story(
        "e04",
        "Baltic Dispatch",
        "2023-06-27T09:00:00Z",
        "European Central Bank signals further rate rises",
        "Lagarde says the bank is not thinking about a pause.",
        "Christine Lagarde said the European Central Bank was likely to raise interest rates again in July and that "
        "it was not considering a pause, because inflation in the euro area was too high for too long. Markets "
        "priced in at least one more rise after the summer.",
        ("European Central Bank", "Christine Lagarde"),
        ("economy_business_finance",),
        story="rates",
    ),
    Story(
        "e05",
        "Northern Ledger",
        "2023-06-23T08:30:00Z",
        "Retail sales rise unexpectedly in May",
        "Warm weather lifts sales of garden furniture and summer clothes.",
        "Retail sales volumes rose in May, official figures showed on Friday, helped by warm weather that lifted "
        "sales of garden furniture, barbecues and summer clothes. Economists had expected a small fall.",
        (),
        ("economy_business_finance",),
    ),
    Story(
        "e06",
        "Capital Courier",
        "2023-06-26T07:15:00Z",
        "Markets open lower as investors count the cost of the weekend",
        "Shares in companies with business in Russia fall first.",
        "Stock markets opened lower on Monday, with shares in companies that still do business in Russia falling most.",
        ("Russia",),
        ("economy_business_finance",),
        language=None,
    ),
    Story(
        "w01",
        "Northern Ledger",
        "2023-06-25T06:00:00Z",
        "Heat warning issued for southern England",
        "Temperatures could reach 32C by midweek.",
        "The Met Office issued a heat warning for southern England on Sunday, with temperatures expected to reach "
        "32C by Wednesday. Health officials advised people to drink water and to check on older neighbours.",
        ("Met Office",),
        ("weather", "health"),
        story="heat",
    ),
    Story(
        "w02",
        "Harbour Post",
        "2023-06-25T14:10:00Z",
        "Thunderstorms bring flash floods to coastal towns",
        "Roads close as a month's rain falls in an hour.",
        "Thunderstorms brought flash flooding to several coastal towns on Sunday afternoon after a month's rain fell "
        "in about an hour. Fire crews pumped water out of homes and shops, and two roads were closed. The Met "
        "Office said more storms were likely overnight.",
        ("Met Office",),
        ("weather", "disaster_accident"),
    ),
    Story(
        "w03",
        "Baltic Dispatch",
        "2023-06-26T07:40:00Z",
        "Rain returns to the Baltic coast after a dry spell",
        "Farmers welcome the showers after the driest spring in years.",
        "Rain returned to the Baltic coast on Monday after six dry weeks. Farmers said the showers came too late "
        "for some crops but would help the late sowings. More rain is forecast for the rest of the week.",
        (),
        ("weather", "environment"),
    ),
    Story(
        "w04",
        "Capital Courier",
        "2023-06-27T16:20:00Z",
        "Wildfire risk high as temperatures top 35C in Spain",
        "Firefighters are on alert in the east of the country.",
        "Temperatures rose above 35C in parts of Spain on Tuesday, and the authorities warned of a high risk of "
        "wildfires in the east of the country. Firefighters were put on alert and outdoor burning was banned.",
        ("Spain",),
        ("weather", "environment"),
        story="heat",
    ),
    Story(
        "w05",
        "Nordkurier Netz",
        "2023-06-26T10:00:00Z",
        "Unwetter über Norddeutschland",
        "Starkregen und Gewitter sorgen für überflutete Straßen.",
        "Heftige Gewitter mit Starkregen haben in der Nacht zum Montag in Norddeutschland Straßen und Keller "
        "überflutet. Die Feuerwehr rückte zu Hunderten Einsätzen aus. Verletzt wurde niemand.",
        ("Germany",),
        ("weather",),
        language="de",
    ),
    Story(
        "t01",
        "Harbour Post",
        "2023-06-23T10:00:00Z",
        "Mobile operators test a new network in northern towns",
        "Faster mobile data is promised for rural areas by next year.",
        "Two mobile operators began testing a shared network in northern towns on Friday, promising faster mobile "
        "data in rural areas by next year.",
        (),
        ("science_technology", "economy_business_finance"),
    ),
    Story(
        "t02",
        "Northern Ledger",
        "2023-06-27T14:30:00Z",
        "Mobilisation of volunteers helps clear flood damage",
        "Hundreds of volunteers join the clean-up in coastal towns.",
        "Hundreds of volunteers joined council workers to clear mud and damaged furniture from homes flooded on "
        "Sunday. The mobilisation was organised through local social media groups.",
        (),
        ("society", "disaster_accident"),
    ),
)


def _published(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _url(story: Story) -> str:
    return f"{SOURCES[story.source]}/2023/06/{story.key}"


def story_id(key: str) -> str:
    """The article id of the story with ``key`` (``m05``)."""
    return article_id(_url(next(story for story in STORIES if story.key == key)))


def parity_corpus() -> list[EnrichedArticle]:
    """Every story as an enriched article, with ids derived from its URL like the pollers do."""
    articles = []
    for story in STORIES:
        published = _published(story.published)
        raw = article_factory(
            url=_url(story),
            feed_url=f"{SOURCES[story.source]}/feed.xml",
            source=story.source,
            title=story.title,
            summary=story.summary,
            content=story.content,
            published=published,
            fetched=published,
            language=story.language,
            authors=[],
            categories=[],
        )
        text = f"{story.title}\n\n{story.summary}\n\n{story.content}"
        entities = [
            Entity(
                name=name,
                label=ENTITY_LABELS[name],
                count=max(1, text.count(name.split()[-1])),
                first_offset=max(0, text.find(name.split()[-1])),
            )
            for name in story.entities
        ]
        topics = [Topic(label=label, score=round(0.9 - 0.2 * rank, 2)) for rank, label in enumerate(story.topics)]
        articles.append(
            enriched_factory(
                raw,
                entities=entities,
                topics=topics,
                story_id=story.story,
                duplicate_of=story_id(story.duplicate_of) if story.duplicate_of else None,
            )
        )
    return articles
