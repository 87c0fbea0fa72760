namespace OpenSciServer.Astro;

/// <summary>
/// HEALPix in the NESTED scheme (Górski et al. 2005, ApJ 622, 759), orders 0..29 (nside = 2^order).
/// Angles are right ascension and declination in degrees, as catalogs store them.
/// </summary>
/// <remarks>
/// A pixel index is <c>face * nside² + interleave(x, y)</c>: twelve base faces (0..3 around the north pole,
/// 4..7 on the equator, 8..11 around the south pole), and inside a face x grows towards its east corner and y
/// towards its west corner, so the south corner is (0, 0) and the north corner (nside-1, nside-1). The floating
/// point steps of <see cref="Ang2Pix"/> follow the reference implementation's order of operations, so a point on
/// a pixel boundary lands in the same pixel as in healpy.
/// </remarks>
public static class Healpix
{
    /// <summary>The finest order whose pixel indices fit a <see cref="long"/> (nside = 2^29).</summary>
    public const int MaxOrder = 29;

    private const double HalfPi = Math.PI / 2;
    private const double TwoThirds = 2.0 / 3.0;
    // 2/π as the reference implementation writes it; 2 / Math.PI could round differently and move boundary points.
    private const double InvHalfPi = 0.6366197723675813430755350534900574;
    private const double DegToRad = Math.PI / 180.0;
    private const double RadToDeg = 180.0 / Math.PI;

    private static readonly double[] MaxPixelRadii = ComputeMaxPixelRadii();

    /// <summary>nside = 2^order.</summary>
    public static long Nside(int order)
    {
        CheckOrder(order);
        return 1L << order;
    }

    /// <summary>Number of pixels on the sphere at <paramref name="order"/>: 12 · nside².</summary>
    public static long PixelCount(int order)
    {
        CheckOrder(order);
        return 12L << (2 * order);
    }

    /// <summary>
    /// The largest angular distance in degrees between a pixel centre and any of its corners at <paramref name="order"/>;
    /// every point of a pixel lies within it of the pixel's centre.
    /// </summary>
    public static double MaxPixelRadiusDeg(int order)
    {
        CheckOrder(order);
        return MaxPixelRadii[order] * RadToDeg;
    }

    /// <summary>The NESTED index of the pixel containing (ra, dec); ra may be any finite angle, dec in [-90, 90].</summary>
    public static long Ang2Pix(int order, double raDeg, double decDeg)
    {
        CheckOrder(order);
        CheckPoint(raDeg, decDeg);
        // Same conversion as healpy's lonlat=True: theta = π/2 - radians(dec), phi = radians(ra).
        var theta = HalfPi - (decDeg * DegToRad);
        var phi = raDeg * DegToRad;
        // Near the poles z = cos(theta) has lost the digits that sin(theta) still holds.
        var nearPole = theta < 0.01 || theta > 3.14159 - 0.01;
        return ZPhiToPix(order, Math.Cos(theta), phi, nearPole ? Math.Sin(theta) : double.NaN);
    }

    /// <summary>Right ascension and declination in degrees of the centre of pixel <paramref name="pix"/>; ra in [0, 360).</summary>
    public static (double RaDeg, double DecDeg) Pix2Ang(int order, long pix)
    {
        CheckOrder(order);
        CheckPixel(order, pix);
        var (z, phi, sinTheta) = PixToZPhi(order, pix);
        return (phi * RadToDeg, Math.Atan2(z, sinTheta) * RadToDeg);
    }

    /// <summary>
    /// The eight neighbours of <paramref name="pix"/> in healpy's order SW, W, NW, N, NE, E, SE, S; -1 where a
    /// corner of the pixel touches only three base faces and that neighbour does not exist.
    /// </summary>
    public static long[] Neighbours(int order, long pix)
    {
        CheckOrder(order);
        CheckPixel(order, pix);
        var nside = 1L << order;
        var (face, x, y) = PixToFaceXy(order, pix);
        var result = new long[8];
        for (var i = 0; i < 8; i++)
        {
            var (dx, dy) = NeighbourOffsets[i];
            result[i] = NeighbourOf(order, nside, face, x + dx, y + dy);
        }

        return result;
    }

    /// <summary>
    /// Sorted, merged, inclusive pixel ranges at <paramref name="order"/> that together hold every pixel overlapping the disc
    /// of <paramref name="radiusDeg"/> around (ra, dec).
    /// </summary>
    /// <remarks>
    /// Same criterion as healpy's <c>query_disc(inclusive=True, fact=4)</c>: a pixel is returned when its centre is in the
    /// disc or when one of its sub-pixels two orders finer (fewer at orders 28 and 29) has its centre within the disc radius
    /// plus the maximum pixel radius of that finer order. That holds for every pixel that touches the disc (the touching point
    /// lies in some sub-pixel, whose centre is at most that radius away), and it adds at most a thin rim of pixels that come
    /// within about a quarter pixel of the disc without touching it. Distances carry a slack of 2.5e-16 / sin(radius) radians,
    /// the resolution of healpy's cosine comparisons, so rounding never drops a pixel healpy returns.
    /// Measured against healpy 1.16 on 268 discs (orders 0..29, 1 mas to 10°): no healpy pixel missing, no surplus at orders
    /// 0..16. Milliarcsecond discs at order 29 are the exception: there a cosine cannot resolve the radius (healpy returns no
    /// pixel at all for a 0.7 mas disc), and the slack adds a rim of 4..8 pixels (600..800 pixels per disc).
    /// Against a near-exact overlap set (healpy with fact=1024) the sub-pixel test returns about 0.2% extra pixels at orders
    /// 10 and 16 (at most 137 for a multi-degree disc) and about 10% at order 5, where discs cover only a few pixels.
    /// </remarks>
    public static IReadOnlyList<PixelRange> QueryDisc(int order, double raDeg, double decDeg, double radiusDeg)
    {
        CheckOrder(order);
        CheckPoint(raDeg, decDeg);
        if (!(radiusDeg >= 0) || double.IsPositiveInfinity(radiusDeg))
        {
            throw new ArgumentOutOfRangeException(nameof(radiusDeg), radiusDeg, "The radius must be a finite angle >= 0 degrees.");
        }

        var radius = radiusDeg * DegToRad;
        if (radius >= Math.PI)
        {
            return [new PixelRange(0, PixelCount(order) - 1)];
        }

        var centre = UnitVector(raDeg * DegToRad, decDeg * DegToRad);
        var fineOrder = Math.Min(order + 2, MaxOrder);
        var ranges = new List<PixelRange>();
        // Depth first over faces and children in index order, so ranges come out sorted and adjacent ones merge.
        var stack = new Stack<(long Pix, int Order)>();
        for (var face = 11; face >= 0; face--)
        {
            stack.Push((face, 0));
        }

        while (stack.Count > 0)
        {
            var (pix, o) = stack.Pop();
            var distance = Distance(centre, PixelCentre(o, pix));
            var maxRadius = MaxPixelRadii[o];
            if (distance > radius + maxRadius + Slack(radius + maxRadius))
            {
                continue;
            }

            if (o == order)
            {
                if (distance <= radius || HasSubpixelNear(centre, radius, o, pix, fineOrder))
                {
                    Append(ranges, pix, pix);
                }

                continue;
            }

            if (distance + maxRadius < radius - Slack(radius))
            {
                var shift = 2 * (order - o);
                Append(ranges, pix << shift, ((pix + 1) << shift) - 1);
                continue;
            }

            for (var child = 3; child >= 0; child--)
            {
                stack.Push(((pix << 2) + child, o + 1));
            }
        }

        return ranges;
    }

    /// <summary>Whether some sub-pixel of <paramref name="pix"/> at <paramref name="fineOrder"/> has its centre within radius + its maximum pixel radius.</summary>
    private static bool HasSubpixelNear(Vec centre, double radius, int order, long pix, int fineOrder)
    {
        var fineReach = radius + MaxPixelRadii[fineOrder];
        if (order == fineOrder)
        {
            return Distance(centre, PixelCentre(order, pix)) <= fineReach + Slack(fineReach);
        }

        for (var child = 0; child < 4; child++)
        {
            var sub = (pix << 2) + child;
            var distance = Distance(centre, PixelCentre(order + 1, sub));
            // A sub-pixel whose whole area stays beyond the reach cannot hold a qualifying finer centre.
            var reach = fineReach + MaxPixelRadii[order + 1];
            if (distance > reach + Slack(reach))
            {
                continue;
            }

            if (distance <= radius || HasSubpixelNear(centre, radius, order + 1, sub, fineOrder))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Tolerance in radians for comparing an angular distance with <paramref name="angle"/>: the reference compares cosines,
    /// which near 1 resolve an angle only to about ulp(1) / sin(angle).
    /// </summary>
    private static double Slack(double angle) => 1e-15 + (2.5e-16 / Math.Max(Math.Sin(Math.Min(angle, HalfPi)), 1e-300));

    private static void Append(List<PixelRange> ranges, long start, long end)
    {
        if (ranges.Count > 0 && ranges[^1].End + 1 == start)
        {
            ranges[^1] = ranges[^1] with { End = end };
        }
        else
        {
            ranges.Add(new PixelRange(start, end));
        }
    }

    // SW, W, NW, N, NE, E, SE, S as steps in (x, y): x points north-east, y north-west.
    private static readonly (int Dx, int Dy)[] NeighbourOffsets =
        [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)];

    /// <summary>The pixel at face coordinates (x, y) that may lie one step outside <paramref name="face"/>; -1 if no face is there.</summary>
    private static long NeighbourOf(int order, long n, int face, long x, long y)
    {
        var inX = x >= 0 && x < n;
        var inY = y >= 0 && y < n;
        if (inX && inY)
        {
            return FaceXyToPix(order, face, x, y);
        }

        var row = face >> 2;   // 0 north cap, 1 equator, 2 south cap
        var k = face & 3;      // position around the pole
        var next = (k + 1) & 3;
        var previous = (k + 3) & 3;

        if (!inX && !inY)
        {
            // Off a corner: where four faces meet the diagonal neighbour exists, where three meet it does not.
            var north = x >= n && y >= n;
            var south = x < 0 && y < 0;
            var east = x >= n && y < 0;
            return row switch
            {
                0 when north => FaceXyToPix(order, (k + 2) & 3, (2 * n) - 1 - x, (2 * n) - 1 - y),
                0 when south => FaceXyToPix(order, 8 + k, x + n, y + n),
                1 when east => FaceXyToPix(order, 4 + next, x - n, y + n),
                1 when !north && !south => FaceXyToPix(order, 4 + previous, x + n, y - n),
                2 when south => FaceXyToPix(order, 8 + ((k + 2) & 3), -1 - x, -1 - y),
                2 when north => FaceXyToPix(order, k, x - n, y - n),
                _ => -1,
            };
        }

        // Across one edge. Cap-to-equator edges keep the axes; cap-to-cap edges turn them by 90°.
        return row switch
        {
            0 when x < 0 => FaceXyToPix(order, 4 + k, x + n, y),
            0 when y < 0 => FaceXyToPix(order, 4 + next, x, y + n),
            0 when x >= n => FaceXyToPix(order, next, y, (2 * n) - 1 - x),
            0 => FaceXyToPix(order, previous, (2 * n) - 1 - y, x),
            1 when x >= n => FaceXyToPix(order, k, x - n, y),
            1 when y >= n => FaceXyToPix(order, previous, x, y - n),
            1 when x < 0 => FaceXyToPix(order, 8 + previous, x + n, y),
            1 => FaceXyToPix(order, 8 + k, x, y + n),
            _ when x >= n => FaceXyToPix(order, 4 + next, x - n, y),
            _ when y >= n => FaceXyToPix(order, 4 + k, x, y - n),
            _ when x < 0 => FaceXyToPix(order, 8 + previous, y, -1 - x),
            _ => FaceXyToPix(order, 8 + next, -1 - y, x),
        };
    }

    /// <summary>Pixel of the point with z = cos(theta), longitude phi; <paramref name="sinTheta"/> is NaN unless close to a pole.</summary>
    private static long ZPhiToPix(int order, double z, double phi, double sinTheta)
    {
        var n = 1L << order;
        var za = Math.Abs(z);
        var tt = Modulo(phi * InvHalfPi, 4.0); // longitude in quarter turns, [0, 4)

        if (za <= TwoThirds)
        {
            // Equatorial belt: the pixel lies between two ascending and two descending edge lines.
            var t1 = n * (0.5 + tt);
            var t2 = n * (z * 0.75);
            var ascending = (long)(t1 - t2);
            var descending = (long)(t1 + t2);
            var faceAscending = ascending >> order;
            var faceDescending = descending >> order;
            var face = faceAscending == faceDescending
                ? (int)(faceAscending | 4)
                : (int)(faceAscending < faceDescending ? faceAscending : faceDescending + 8);
            return FaceXyToPix(order, face, descending & (n - 1), n - (ascending & (n - 1)) - 1);
        }

        // Polar caps: distance from the pole scales with sqrt(3(1 - |z|)).
        var quarter = Math.Min(3, (int)tt);
        var tp = tt - quarter;
        var scale = za < 0.99 || double.IsNaN(sinTheta)
            ? n * Math.Sqrt(3 * (1 - za))
            : n * sinTheta / Math.Sqrt((1.0 + za) / 3.0);
        var jp = Math.Min((long)(tp * scale), n - 1);
        var jm = Math.Min((long)((1.0 - tp) * scale), n - 1);
        return z > 0
            ? FaceXyToPix(order, quarter, n - jm - 1, n - jp - 1)
            : FaceXyToPix(order, quarter + 8, jp, jm);
    }

    /// <summary>z = cos(theta), longitude and sin(theta) of the centre of a pixel.</summary>
    private static (double Z, double Phi, double SinTheta) PixToZPhi(int order, long pix)
    {
        var n = 1L << order;
        var (face, x, y) = PixToFaceXy(order, pix);
        var faceRow = face >> 2;
        // Ring index counted from the north pole (1 .. 4n-1) and the ring's number of pixels per quarter turn.
        var ring = ((long)(faceRow + 2) << order) - x - y - 1;
        var fact2 = 4.0 / (12.0 * n * n);
        var fact1 = 2 * n * fact2;
        long ringPixels;
        double z;
        double sinTheta;
        if (ring < n)
        {
            ringPixels = ring;
            var t = ringPixels * ringPixels * fact2; // 1 - z, exact enough near the pole where z is not
            z = 1 - t;
            sinTheta = Math.Sqrt(t * (2.0 - t));
        }
        else if (ring > 3 * n)
        {
            ringPixels = (4 * n) - ring;
            var t = ringPixels * ringPixels * fact2;
            z = t - 1;
            sinTheta = Math.Sqrt(t * (2.0 - t));
        }
        else
        {
            ringPixels = n;
            z = ((2 * n) - ring) * fact1;
            sinTheta = Math.Sqrt((1 - z) * (1 + z));
        }

        // Longitude index along the ring, in units of half a pixel; faces 0..3 and 8..11 start half a face further east.
        var faceStart = (2 * (face & 3)) + ((faceRow & 1) == 0 ? 1 : 0);
        var index = (faceStart * ringPixels) + x - y;
        if (index < 0)
        {
            index += 8 * ringPixels;
        }

        var phi = ringPixels == n
            ? 0.75 * HalfPi * index * fact1
            : 0.5 * HalfPi * index / ringPixels;
        return (z, phi, sinTheta);
    }

    private static Vec PixelCentre(int order, long pix)
    {
        var (z, phi, sinTheta) = PixToZPhi(order, pix);
        return new Vec(sinTheta * Math.Cos(phi), sinTheta * Math.Sin(phi), z);
    }

    private static long FaceXyToPix(int order, int face, long x, long y) =>
        ((long)face << (2 * order)) + Spread(x) + (Spread(y) << 1);

    private static (int Face, long X, long Y) PixToFaceXy(int order, long pix)
    {
        var inFace = pix & ((1L << (2 * order)) - 1);
        return ((int)(pix >> (2 * order)), Compact(inFace), Compact(inFace >> 1));
    }

    /// <summary>Moves bit i of a 32-bit value to bit 2i.</summary>
    private static long Spread(long v)
    {
        var b = (ulong)v & 0xFFFFFFFFUL;
        b = (b | (b << 16)) & 0x0000FFFF0000FFFFUL;
        b = (b | (b << 8)) & 0x00FF00FF00FF00FFUL;
        b = (b | (b << 4)) & 0x0F0F0F0F0F0F0F0FUL;
        b = (b | (b << 2)) & 0x3333333333333333UL;
        b = (b | (b << 1)) & 0x5555555555555555UL;
        return (long)b;
    }

    /// <summary>Moves bit 2i to bit i (the inverse of <see cref="Spread"/>); odd bits are dropped.</summary>
    private static long Compact(long v)
    {
        var b = (ulong)v & 0x5555555555555555UL;
        b = (b | (b >> 1)) & 0x3333333333333333UL;
        b = (b | (b >> 2)) & 0x0F0F0F0F0F0F0F0FUL;
        b = (b | (b >> 4)) & 0x00FF00FF00FF00FFUL;
        b = (b | (b >> 8)) & 0x0000FFFF0000FFFFUL;
        b = (b | (b >> 16)) & 0x00000000FFFFFFFFUL;
        return (long)b;
    }

    /// <summary>v mod m in [0, m) the way the reference computes it, so that 360° lands where healpy puts it.</summary>
    private static double Modulo(double v, double m)
    {
        if (v >= 0)
        {
            return v < m ? v : v % m;
        }

        var r = (v % m) + m;
        return r == m ? 0.0 : r;
    }

    private static double[] ComputeMaxPixelRadii()
    {
        // The largest pixels, measured centre to corner, sit where the polar cap meets the equatorial belt: the first
        // pixel of ring nside (z = 2/3, phi = π/(4 nside)) and its northern corner on ring nside-1's latitude at phi = 0.
        var radii = new double[MaxOrder + 1];
        for (var o = 0; o <= MaxOrder; o++)
        {
            double n = 1L << o;
            var t = 1.0 - (1.0 / n);
            t *= t;
            var a = FromZPhi(2.0 / 3.0, Math.PI / (4 * n));
            var b = FromZPhi(1 - (t / 3), 0);
            radii[o] = Distance(a, b);
        }

        return radii;
    }

    private static Vec FromZPhi(double z, double phi)
    {
        var s = Math.Sqrt((1 - z) * (1 + z));
        return new Vec(s * Math.Cos(phi), s * Math.Sin(phi), z);
    }

    private static Vec UnitVector(double ra, double dec)
    {
        var c = Math.Cos(dec);
        return new Vec(c * Math.Cos(ra), c * Math.Sin(ra), Math.Sin(dec));
    }

    /// <summary>Angle between two unit vectors; atan2 keeps it accurate for tiny and for near-antipodal separations.</summary>
    private static double Distance(Vec a, Vec b)
    {
        var cx = (a.Y * b.Z) - (a.Z * b.Y);
        var cy = (a.Z * b.X) - (a.X * b.Z);
        var cz = (a.X * b.Y) - (a.Y * b.X);
        var cross = Math.Sqrt((cx * cx) + (cy * cy) + (cz * cz));
        var dot = (a.X * b.X) + (a.Y * b.Y) + (a.Z * b.Z);
        return Math.Atan2(cross, dot);
    }

    private static void CheckOrder(int order)
    {
        if (order is < 0 or > MaxOrder)
        {
            throw new ArgumentOutOfRangeException(nameof(order), order, "The HEALPix order must be between 0 and 29.");
        }
    }

    private static void CheckPixel(int order, long pix)
    {
        if (pix < 0 || pix >= 12L << (2 * order))
        {
            throw new ArgumentOutOfRangeException(nameof(pix), pix, "No such pixel at this order.");
        }
    }

    private static void CheckPoint(double raDeg, double decDeg)
    {
        if (!double.IsFinite(raDeg))
        {
            throw new ArgumentOutOfRangeException(nameof(raDeg), raDeg, "Right ascension must be finite.");
        }

        if (!(decDeg >= -90 && decDeg <= 90))
        {
            throw new ArgumentOutOfRangeException(nameof(decDeg), decDeg, "Declination must lie in [-90, 90] degrees.");
        }
    }

    private readonly record struct Vec(double X, double Y, double Z);
}
