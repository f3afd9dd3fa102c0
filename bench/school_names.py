"""Host names for the synthetic school-day capture.

Kept apart from the generator so the list reads like what it is: the apps a Dutch primary or
secondary school actually sees on its network, grouped by app. The names are real (so the demo
shows recognisable apps); the addresses the generator gives them are not.
"""

from __future__ import annotations

# Grouped by app; the order inside a group is roughly by popularity.
WELL_KNOWN: dict[str, tuple[str, ...]] = {
    "Magister": (
        "school.magister.net", "accounts.magister.net", "magister.net", "www.magister.net",
        "stedelijklyceum.magister.net",
    ),
    "Somtoday": (
        "inloggen.somtoday.nl", "api.somtoday.nl", "leerling.somtoday.nl", "somtoday.nl",
        "elo.somtoday.nl", "www.somtoday.nl",
    ),
    "ParnasSys": ("inloggen.parnassys.net", "start.parnassys.net", "www.parnassys.net"),
    "Parro": ("app.parro.com", "api.parro.com", "talk.parro.com", "www.parro.com", "parro.com"),
    "Zermelo": ("stedelijklyceum.zportal.nl", "www.zermelo.nl"),
    "Basispoort": (
        "mijn.basispoort.nl", "login.basispoort.nl", "api.basispoort.nl", "www.basispoort.nl",
    ),
    "Snappet": (
        "app.snappet.org", "teacher.snappet.org", "pupil.snappet.org", "api.snappet.org",
        "cdn.snappet.org", "www.snappet.org",
    ),
    "Gynzy": ("app.gynzy.com", "api.gynzy.com", "cdn.gynzy.com", "www.gynzy.com", "gynzy.com"),
    "Entree Federatie": ("aselect.entree.kennisnet.nl", "www.kennisnet.nl"),
    "Zivver": ("app.zivver.com", "www.zivver.com", "zivver.com"),
    "Google Workspace": (
        "classroom.google.com", "docs.google.com", "drive.google.com", "accounts.google.com",
        "mail.google.com", "meet.google.com", "sites.google.com", "calendar.google.com",
        "forms.gle", "classroom.googleapis.com", "oauth2.googleapis.com", "www.googleapis.com",
        "lh3.googleusercontent.com", "drive-thirdparty.googleusercontent.com", "ogs.google.com",
        "workspace.google.com", "edu.google.com",
    ),
    "Google": (
        "www.google.com", "www.google.nl", "apis.google.com", "fonts.googleapis.com",
        "fonts.gstatic.com", "www.gstatic.com", "ssl.gstatic.com", "play.google.com",
        "clients1.google.com", "clients2.google.com", "clients4.google.com",
        "update.googleapis.com", "dl.google.com", "translate.google.com",
        "translate.googleapis.com", "content-autofill.googleapis.com",
        "safebrowsing.googleapis.com", "android.googleapis.com", "play.googleapis.com",
        "mtalk.google.com", "gemini.google.com",
    ),
    "YouTube": (
        "www.youtube.com", "i.ytimg.com", "m.youtube.com", "youtube.com", "yt3.ggpht.com",
        "youtubei.googleapis.com", "rr1---sn-5hne6nzk.googlevideo.com",
        "rr3---sn-5hnekn7z.googlevideo.com", "rr5---sn-5hne6nsz.googlevideo.com",
        "rr2---sn-4g5e6nze.googlevideo.com", "www.youtube-nocookie.com", "s.youtube.com",
        "jnn-pa.googleapis.com",
    ),
    "Microsoft 365": (
        "login.microsoftonline.com", "teams.microsoft.com", "outlook.office365.com",
        "www.office.com", "outlook.office.com", "portal.office.com", "graph.microsoft.com",
        "substrate.office.com", "aadcdn.msftauth.net", "aadcdn.msauth.net",
        "res.cdn.office.net", "statics.teams.cdn.office.net", "config.teams.microsoft.com",
        "presence.teams.microsoft.com", "stedelijklyceum-my.sharepoint.com",
        "stedelijklyceum.sharepoint.com", "onedrive.live.com", "officeclient.microsoft.com",
        "forms.office.com", "word-edit.officeapps.live.com", "excel.officeapps.live.com",
        "login.live.com", "login.windows.net", "ecs.office.com", "officecdn.microsoft.com",
        "copilot.microsoft.com",
    ),
    "Windows": (
        "www.bing.com", "edge.microsoft.com", "nav.smartscreen.microsoft.com",
        "settings-win.data.microsoft.com", "v10.events.data.microsoft.com",
        "self.events.data.microsoft.com", "client.wns.windows.com", "www.msftconnecttest.com",
        "ctldl.windowsupdate.com", "au.download.windowsupdate.com", "dns.msftncsi.com",
    ),
    "Apple": (
        "captive.apple.com", "gateway.icloud.com", "www.icloud.com", "mesu.apple.com",
        "gsp-ssl.ls.apple.com", "init.itunes.apple.com", "apps.apple.com", "mask.icloud.com",
        "configuration.ls.apple.com", "api.apple-cloudkit.com",
    ),
    "Android": ("connectivitycheck.gstatic.com", "connectivitycheck.android.com"),
    "Kahoot!": ("kahoot.it", "create.kahoot.it", "assets-cdn.kahoot.it", "kahoot.com"),
    "Quizlet": ("quizlet.com", "assets.quizlet.com", "api.quizlet.com"),
    "Quizizz": ("quizizz.com", "cf.quizizz.com"),
    "Blooket": ("www.blooket.com", "api.blooket.com"),
    "Gimkit": ("www.gimkit.com",),
    "Mentimeter": ("www.menti.com", "www.mentimeter.com", "static.mentimeter.com"),
    "Socrative": ("b.socrative.com", "www.socrative.com"),
    "Wizer.me": ("app.wizer.me",),
    "Edpuzzle": ("edpuzzle.com",),
    "Padlet": ("padlet.com", "padlet-uploads.storage.googleapis.com", "assets.padletcdn.com"),
    "Canva": ("www.canva.com", "static.canva.com", "media.canva.com"),
    "ChatGPT": (
        "chatgpt.com", "cdn.oaistatic.com", "ab.chatgpt.com", "chat.openai.com",
        "auth.openai.com", "api.openai.com",
    ),
    "Perplexity": ("www.perplexity.ai",),
    "TikTok": (
        "www.tiktok.com", "v16-webapp-prime.tiktok.com", "p16-sign-va.tiktokcdn.com",
        "mon.tiktokv.com", "lf16-tiktok-web.tiktokcdn-us.com", "log.tiktokv.com",
        "v19.tiktokcdn-eu.com", "m.tiktok.com",
    ),
    "Instagram": (
        "www.instagram.com", "i.instagram.com", "scontent-ams2-1.cdninstagram.com",
        "static.cdninstagram.com", "graph.instagram.com",
    ),
    "Snapchat": (
        "app.snapchat.com", "gcp.api.snapchat.com", "cf-st.sc-cdn.net", "bolt-gcdn.sc-cdn.net",
    ),
    "WhatsApp": (
        "web.whatsapp.com", "g.whatsapp.net", "mmg.whatsapp.net", "static.whatsapp.net",
        "media-ams2-1.cdn.whatsapp.net",
    ),
    "Facebook": (
        "www.facebook.com", "graph.facebook.com", "static.xx.fbcdn.net", "connect.facebook.net",
    ),
    "Spotify": (
        "open.spotify.com", "api.spotify.com", "apresolve.spotify.com", "i.scdn.co",
        "spclient.wg.spotify.com", "audio-ak-spotify-com.akamaized.net",
    ),
    "Netflix": ("www.netflix.com", "assets.nflxext.com"),
    "Roblox": ("www.roblox.com", "apis.roblox.com", "tr.rbxcdn.com", "c0.rbxcdn.com"),
    "Fortnite": (
        "account-public-service-prod.ol.epicgames.com",
        "fortnite-public-service-prod11.ol.epicgames.com",
    ),
    "Minecraft": (
        "session.minecraft.net", "pc.realms.minecraft.net", "education.minecraft.net",
    ),
    "Discord": ("discord.com", "gateway.discord.gg", "cdn.discordapp.com",
                "media.discordapp.net"),
    "Twitch": ("www.twitch.tv", "gql.twitch.tv"),
    "Pinterest": ("www.pinterest.com", "i.pinimg.com"),
    "X": ("x.com", "abs.twimg.com", "pbs.twimg.com"),
    "Steam": ("store.steampowered.com",),
    "Poki": ("poki.com", "www.poki.com", "game-cdn.poki.com"),
    "CrazyGames": ("www.crazygames.com",),
    "Wikipedia": ("nl.wikipedia.org", "en.wikipedia.org", "upload.wikimedia.org"),
    "Duolingo": ("www.duolingo.com", "d35aaqx5ub95lt.cloudfront.net"),
    "Khan Academy": ("www.khanacademy.org", "cdn.kastatic.org"),
    "GeoGebra": ("www.geogebra.org", "cdn.geogebra.org"),
    "Desmos": ("www.desmos.com",),
    "Scratch": ("scratch.mit.edu", "cdn2.scratch.mit.edu", "api.scratch.mit.edu"),
    "Code.org": ("studio.code.org",),
    "StudyGo": ("www.studygo.com", "wrts.nl", "api.wrts.nl"),
    "Noordhoff": ("apps.noordhoff.nl", "www.noordhoff.nl"),
    "Malmberg": ("mijn.malmberg.nl", "www.malmberg.nl"),
    "ThiemeMeulenhoff": ("apps.thiememeulenhoff.nl", "www.thiememeulenhoff.nl"),
    "Oefenweb": ("www.rekentuin.nl", "www.taalzee.nl"),
    "Squla": ("www.squla.nl",),
    "Junior Einstein": ("www.junioreinstein.nl",),
    "Nieuwsbegrip": ("www.nieuwsbegrip.nl",),
    "Schooltv": ("www.schooltv.nl", "start-player.npo.nl", "www.npo.nl"),
    "Wikiwijs": ("www.wikiwijs.nl",),
    "Prowise": ("presenter.prowise.com", "www.prowise.com"),
    "ClassDojo": ("www.classdojo.com", "home.classdojo.com"),
    "Seesaw": ("app.seesaw.me",),
    "Social Schools": ("app.socialschools.eu",),
    "Klasbord": ("app.klasbord.nl",),
    "Cito": ("www.cito.nl",),
    "DUO": ("duo.nl", "mijn.duo.nl"),
    "Examenblad": ("www.examenblad.nl",),
    "Woots": ("app.woots.nl",),
    "Zoom": ("zoom.us", "us04web.zoom.us"),
    "News": ("nos.nl", "www.nu.nl", "www.buienradar.nl"),
    "CDNs": (
        "cdnjs.cloudflare.com", "ajax.googleapis.com", "cdn.jsdelivr.net", "unpkg.com",
        "code.jquery.com", "use.typekit.net",
    ),
    "Certificates": (
        "ocsp.digicert.com", "ocsp.pki.goog", "r3.o.lencr.org", "ocsp.sectigo.com",
    ),
    "Trackers": (
        "www.google-analytics.com", "region1.google-analytics.com", "www.googletagmanager.com",
        "stats.g.doubleclick.net", "googleads.g.doubleclick.net",
        "pagead2.googlesyndication.com", "static.hotjar.com", "script.hotjar.com",
        "bat.bing.com", "analytics.tiktok.com", "o0.ingest.sentry.io", "api.mixpanel.com",
        "cdn.segment.com", "api2.amplitude.com",
    ),
}

# Hosts that real clients fetch over plain HTTP on port 80: connectivity checks, OCSP, updates.
HTTP_HOSTS: tuple[str, ...] = (
    "www.msftconnecttest.com", "connectivitycheck.gstatic.com", "captive.apple.com",
    "connectivitycheck.android.com", "ocsp.digicert.com", "ocsp.pki.goog", "r3.o.lencr.org",
    "ocsp.sectigo.com", "ctldl.windowsupdate.com", "au.download.windowsupdate.com",
    "dns.msftncsi.com",
)

# CNAME chains as resolvers return them (first element is the queried name). The targets are
# where real services point, give or take; `example-cdn.net` stands for a school vendor's CDN.
CNAME_CHAINS: dict[str, tuple[str, ...]] = {
    "school.magister.net": ("magister-lb.example-cdn.net",),
    "accounts.magister.net": ("magister-lb.example-cdn.net",),
    "stedelijklyceum.magister.net": ("magister-lb.example-cdn.net",),
    "inloggen.somtoday.nl": ("somtoday-inloggen.azureedge.net",
                             "somtoday-inloggen.afd.azureedge.net"),
    "api.somtoday.nl": ("somtoday-api.trafficmanager.net",),
    "app.snappet.org": ("snappet-app.azurefd.net",),
    "mijn.basispoort.nl": ("basispoort-prod.trafficmanager.net",),
    "app.parro.com": ("parro-web.example-cdn.net",),
    "www.youtube.com": ("youtube-ui.l.google.com",),
    "m.youtube.com": ("youtube-ui.l.google.com",),
    "i.ytimg.com": ("ytimg.l.google.com",),
    "fonts.googleapis.com": ("googleapis.l.google.com",),
    "apis.google.com": ("plus.l.google.com",),
    "www.tiktok.com": ("www.tiktok.com.edgesuite.net", "a1968.dscd.akamai.net"),
    "v16-webapp-prime.tiktok.com": ("v16-webapp-prime.tiktok.com.edgesuite.net",
                                    "a2047.dscr.akamai.net"),
    "teams.microsoft.com": ("teams-office-com.s-0005.dc-msedge.net", "s-0005.dc-msedge.net"),
    "login.microsoftonline.com": ("login.mso.msidentity.com", "ak.privatelink.msidentity.com",
                                  "www.tm.ak.prd.aadg.trafficmanager.net"),
    "outlook.office365.com": ("outlook.ha.office365.com", "outlook.ms-acdc.office.com"),
    "stedelijklyceum-my.sharepoint.com": ("187404-ipv4v6.farm.dprodmgd104.aa-rt.sharepoint.com",
                                          "dual-spo-0005.spo-msedge.net"),
    "create.kahoot.it": ("d2a6x3jz8n5q4k.cloudfront.net",),
    "www.instagram.com": ("z-p42-instagram.c10r.instagram.com",),
    "web.whatsapp.com": ("mmx-ds.cdn.whatsapp.net",),
    "open.spotify.com": ("open.spotify.com.edgekey.net", "e1234.dscb.akamaiedge.net"),
    "www.netflix.com": ("www.dradis.netflix.com", "www.eu-west-1.internal.dradis.netflix.com"),
    "cdn.oaistatic.com": ("cdn.oaistatic.com.cdn.cloudflare.net",),
    "scratch.mit.edu": ("scratch.mit.edu.cdn.cloudflare.net",),
    "www.bing.com": ("www-bing-com.dual-a-0001.a-msedge.net", "dual-a-0001.a-msedge.net"),
    "ctldl.windowsupdate.com": ("audownload.windowsupdate.nsatc.net",),
}


def well_known_names() -> list[str]:
    """Every well-known name once, in declaration order (deterministic across runs)."""
    seen: dict[str, None] = {}
    for names in WELL_KNOWN.values():
        for name in names:
            seen.setdefault(name, None)
    return list(seen)
