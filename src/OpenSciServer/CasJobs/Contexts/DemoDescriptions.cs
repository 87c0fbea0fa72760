namespace OpenSciServer.CasJobs.Contexts;

/// <summary>What the demo catalogue's table and columns mean, and their units (as docs/casjobs.md lists them).</summary>
public static class DemoDescriptions
{
    public const string Table = "SYNTHETIC X-ray sources shaped like eROSITA's eRASS1 catalogue (not real data), ordered by HEALPix index.";

    public static readonly IReadOnlyList<(string Column, string Description, string Unit)> Columns =
    [
        ("id", "Source number", ""),
        ("ra", "Right ascension (J2000-like); clustered, not uniform", "deg"),
        ("dec", "Declination (J2000-like)", "deg"),
        ("flux_05_2", "Flux in the 0.5-2 keV band", "erg/s/cm^2"),
        ("flux_05_2_err", "Error of the 0.5-2 keV flux", "erg/s/cm^2"),
        ("flux_2_5", "Flux in the 2-5 keV band", "erg/s/cm^2"),
        ("flux_2_5_err", "Error of the 2-5 keV flux", "erg/s/cm^2"),
        ("det_like", "Detection likelihood", ""),
        ("ext", "Source extent (0 for point sources)", "arcsec"),
        ("mag", "Magnitude of the optical counterpart", "mag"),
        ("class", "Source class: star, agn, galaxy or cluster", ""),
        ("healpix", $"HEALPix index (nested) at order {CasJobsSetup.IndexOrder}, nside 65536", ""),
    ];
}
