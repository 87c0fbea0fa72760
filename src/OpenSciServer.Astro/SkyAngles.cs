namespace OpenSciServer.Astro;

/// <summary>Conversions and normalisations of sky coordinates shared by the HEALPix and catalog code.</summary>
public static class SkyAngles
{
    /// <summary>Right ascension folded into [0, 360) degrees; 360 and -0 map to 0.</summary>
    public static double NormalizeRa(double raDeg)
    {
        var ra = raDeg % 360.0;
        if (ra < 0)
        {
            ra += 360.0;
        }

        // -1e-17 % 360 + 360 rounds to exactly 360.
        return ra >= 360.0 ? 0.0 : ra + 0.0;
    }

    /// <summary>Great-circle distance in degrees between two points given in degrees (haversine: accurate for tiny separations).</summary>
    public static double Separation(double ra1Deg, double dec1Deg, double ra2Deg, double dec2Deg)
    {
        var d1 = double.DegreesToRadians(dec1Deg);
        var d2 = double.DegreesToRadians(dec2Deg);
        var sdd = Math.Sin((d2 - d1) / 2);
        var sda = Math.Sin(double.DegreesToRadians(ra2Deg - ra1Deg) / 2);
        var h = (sdd * sdd) + (Math.Cos(d1) * Math.Cos(d2) * sda * sda);
        return double.RadiansToDegrees(2 * Math.Asin(Math.Min(1.0, Math.Sqrt(h))));
    }
}
