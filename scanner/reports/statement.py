"""appradar's own entry for the school's processing register, and a notice for pupils and
parents: the tool that checks the register is in the register itself."""

from __future__ import annotations

from scanner.config import Config

TEXTS = {
    "nl": {
        "title": "Verwerking: inventarisatie van apps op het schoolnetwerk (appradar)",
        "rows": [
            ("Doel", "Vaststellen welke apps en online diensten op het schoolnetwerk worden "
             "gebruikt, om het verwerkingsregister volledig te houden en verwerkers te "
             "beoordelen (AVG art. 5 lid 2, art. 30)."),
            ("Grondslag (te overwegen)", "Wettelijke verplichting (AVG art. 30 en art. 32) en "
             "taak van algemeen belang of gerechtvaardigd belang van het schoolbestuur; de "
             "school stelt de grondslag vast met haar FG."),
            ("Betrokkenen", "Leerlingen, medewerkers en gasten die het schoolnetwerk gebruiken."),
            ("Categorieën gegevens", "Domeinnamen die apparaten opvragen of bezoeken; tijdstip "
             "per dag; netwerksegment ({segments}); per apparaat een sleutel-gehashte "
             "pseudoniem (HMAC) in plaats van het IP- of MAC-adres. Geen inhoud, geen "
             "URL's of paden, geen IP-adressen."),
            ("Bewaartermijn", "Gegevens per apparaat {device_days} dagen nadat appradar ze "
             "opsloeg, daarna alleen aantallen per dag; dagtotalen {aggregate_days} dagen."),
            ("Ontvangers", "Geen: de gegevens blijven op de server van de school. Overzichten "
             "tonen aantallen onder {small_count} apparaten niet exact."),
            ("Doorgifte buiten de EER", "Geen."),
            ("Beveiligingsmaatregelen", "Pseudoniemsleutel in een apart bestand (alleen "
             "leesbaar voor de eigenaar), database alleen leesbaar voor de eigenaar, "
             "sleutelrotatie, verwijderde gegevens worden overschreven (secure delete, "
             "VACUUM), toegang alleen voor IT-beheer en FG."),
        ],
        "notice_title": "Voor leerlingen en ouders",
        "notice": "Om te weten welke apps op school gebruikt worden, kijkt de school met het "
                  "programma appradar naar de namen van websites en apps die apparaten op het "
                  "schoolnetwerk opzoeken, zoals 'magister.net'. Wat je op een website doet, "
                  "leest of typt, ziet appradar niet. Apparaten worden niet bij naam of adres "
                  "bewaard maar als een onherleidbare code, en na {device_days} dagen blijven "
                  "alleen totalen over. De school gebruikt dit alleen om haar lijst van "
                  "apps en afspraken met leveranciers bij te houden. Vragen? Neem contact op "
                  "met de functionaris gegevensbescherming van de school.",
    },
    "en": {
        "title": "Processing: inventory of apps on the school network (appradar)",
        "rows": [
            ("Purpose", "Establishing which apps and online services are used on the school "
             "network, to keep the processing register complete and to assess processors "
             "(GDPR art. 5(2), art. 30)."),
            ("Legal basis (to consider)", "Legal obligation (GDPR art. 30 and 32) and a task "
             "in the public interest or the school board's legitimate interest; the school "
             "decides the basis with its DPO."),
            ("Data subjects", "Pupils, staff and guests using the school network."),
            ("Categories of data", "Domain names devices look up or contact; time per day; "
             "network segment ({segments}); per device a keyed-hash pseudonym (HMAC) instead "
             "of its IP or MAC address. No content, no URLs or paths, no IP addresses."),
            ("Retention", "Per-device data for {device_days} days after appradar stored it, "
             "then only daily counts; daily totals for {aggregate_days} days."),
            ("Recipients", "None: the data stays on the school's server. Overviews do not show "
             "counts below {small_count} devices exactly."),
            ("Transfers outside the EEA", "None."),
            ("Security measures", "Pseudonym key in a separate owner-only file, owner-only "
             "database, key rotation, deleted data overwritten (secure delete, VACUUM), "
             "access for IT administration and the DPO only."),
        ],
        "notice_title": "For pupils and parents",
        "notice": "To know which apps are used at school, the school uses a program called "
                  "appradar that looks at the names of websites and apps that devices on the "
                  "school network look up, such as 'magister.net'. What you do, read or type "
                  "on a website, appradar does not see. Devices are not stored by name or "
                  "address but as a code that cannot be traced back, and after {device_days} "
                  "days only totals remain. The school uses this only to keep its list of "
                  "apps and agreements with suppliers up to date. Questions? Contact the "
                  "school's data protection officer.",
    },
}


def statement(config: Config, language: str = "nl") -> str:
    """The register entry and the notice, filled in with the configuration in force."""
    text = TEXTS[language]
    values = {
        "segments": ", ".join(sorted(config.segments)) or ("geen" if language == "nl" else "none"),
        "device_days": config.device_days,
        "aggregate_days": config.aggregate_days,
        "small_count": config.small_count,
    }
    lines = [f"# {text['title']}", ""]
    for heading, body in text["rows"]:
        lines += [f"{heading}:", f"  {body.format(**values)}", ""]
    lines += [f"## {text['notice_title']}", "", str(text["notice"]).format(**values), ""]
    return "\n".join(lines)
