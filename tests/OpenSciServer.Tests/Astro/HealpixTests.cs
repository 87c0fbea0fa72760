using OpenSciServer.Astro;
using Xunit.Abstractions;

namespace OpenSciServer.Tests.Astro;

public sealed class HealpixTests(HealpyReference reference, ITestOutputHelper output) : IClassFixture<HealpyReference>
{
    private const double AngleToleranceDeg = 1e-9;

    [Fact]
    public void Ang2Pix_ReferencePoints_MatchHealpyExactly()
    {
        Assert.True(reference.Ang2Pix.Count > 2000 * HealpyReference.Orders.Length);
        var wrong = reference.Ang2Pix
            .Where(r => Healpix.Ang2Pix(r.Order, r.Ra, r.Dec) != r.Pix)
            .Select(r => $"order {r.Order} ({r.Ra:R}, {r.Dec:R}): healpy {r.Pix}, ours {Healpix.Ang2Pix(r.Order, r.Ra, r.Dec)}")
            .ToList();
        Assert.True(wrong.Count == 0, string.Join("\n", wrong.Take(20)));
    }

    [Fact]
    public void Pix2Ang_ReferencePixels_MatchHealpyWithinNanodegree()
    {
        Assert.NotEmpty(reference.Pix2Ang);
        var worst = 0.0;
        foreach (var (order, pix, ra, dec) in reference.Pix2Ang)
        {
            var (ourRa, ourDec) = Healpix.Pix2Ang(order, pix);
            var dRa = Math.Abs(ourRa - ra);
            dRa = Math.Min(dRa, 360 - dRa) * Math.Cos(double.DegreesToRadians(dec));
            worst = Math.Max(worst, Math.Max(dRa, Math.Abs(ourDec - dec)));
            Assert.True(Math.Abs(ourDec - dec) <= AngleToleranceDeg, $"order {order} pix {pix}: dec {ourDec:R} vs {dec:R}");
            Assert.True(dRa <= AngleToleranceDeg, $"order {order} pix {pix}: ra {ourRa:R} vs {ra:R}");
        }

        output.WriteLine($"largest pix2ang difference from healpy: {worst:E2} deg");
    }

    [Fact]
    public void Neighbours_ReferencePixels_MatchHealpyExactly()
    {
        Assert.NotEmpty(reference.Neighbours);
        foreach (var (order, pix, expected) in reference.Neighbours)
        {
            Assert.True(expected.SequenceEqual(Healpix.Neighbours(order, pix)),
                $"order {order} pix {pix}: healpy [{string.Join(", ", expected)}], ours [{string.Join(", ", Healpix.Neighbours(order, pix))}]");
        }
    }

    [Fact]
    public void QueryDisc_ReferenceDiscs_CoverEveryHealpyPixel()
    {
        Assert.True(reference.Discs.Count > 50);
        long healpyTotal = 0, surplusTotal = 0, worstSurplus = 0;
        foreach (var (order, ra, dec, radius, expected) in reference.Discs)
        {
            var ranges = Healpix.QueryDisc(order, ra, dec, radius);
            var missing = expected.Where(p => !Contains(ranges, p)).ToList();
            Assert.True(missing.Count == 0,
                $"order {order} disc ({ra:R}, {dec:R}, r={radius:R}): {missing.Count} healpy pixels missing, e.g. {string.Join(", ", missing.Take(5))}");
            var ours = ranges.Sum(r => r.Count);
            var surplus = ours - expected.Length;
            healpyTotal += expected.Length;
            surplusTotal += surplus;
            worstSurplus = Math.Max(worstSurplus, surplus);
            if (surplus > 0)
            {
                output.WriteLine($"order {order} disc ({ra:F4}, {dec:F4}, r={radius:G4}): healpy {expected.Length}, ours {ours}, surplus {surplus}");
            }
        }

        foreach (var group in reference.Discs.GroupBy(d => d.Order))
        {
            output.WriteLine($"order {group.Key}: {group.Count()} discs, {group.Sum(d => d.Pixels.Length)} healpy pixels");
        }

        Assert.Contains(reference.Discs, d => d.Order == Healpix.MaxOrder);
        output.WriteLine($"{reference.Discs.Count} discs: healpy {healpyTotal} pixels, ours {healpyTotal + surplusTotal}, surplus {surplusTotal}, worst {worstSurplus}");
    }

    [Fact]
    public void QueryDisc_Ranges_AreSortedMergedAndInclusive()
    {
        var ranges = Healpix.QueryDisc(10, 0.0, 0.0, 10.0);
        for (var i = 0; i < ranges.Count; i++)
        {
            Assert.True(ranges[i].Start <= ranges[i].End);
            if (i > 0)
            {
                Assert.True(ranges[i].Start > ranges[i - 1].End + 1, "ranges must be sorted and merged");
            }
        }
    }

    [Theory]
    [InlineData(8, 359.5, 88.0, 2.5)]
    [InlineData(16, 0.001, -89.999, 0.01)]
    [InlineData(29, 45.0, 0.0, 1e-6)]
    [InlineData(29, 200.0, 41.8103148957786, 2e-7)]
    public void QueryDisc_TouchingPixelsFromDenseSampling_AreAllIncluded(int order, double ra0, double dec0, double radius)
    {
        // Independent of healpy (whose cosine test cannot resolve milliarcsecond discs): every sampled point of the
        // disc's rim and inside lies in a returned pixel.
        var ranges = Healpix.QueryDisc(order, ra0, dec0, radius);
        for (var i = 0; i < 4000; i++)
        {
            var bearing = 2 * Math.PI * i / 4000;
            foreach (var fraction in new[] { 1.0, 0.999999, 0.5 })
            {
                var (ra, dec) = Offset(ra0, dec0, radius * fraction, bearing);
                var pix = Healpix.Ang2Pix(order, ra, dec);
                Assert.True(Contains(ranges, pix), $"point ({ra:R}, {dec:R}) in pixel {pix} is not covered");
            }
        }
    }

    [Theory]
    [InlineData(16, 10.0)]
    [InlineData(20, 0.5)]
    public void QueryDisc_LargeDisc_CoversTheDiscAreaPlusOneRim(int order, double radiusDeg)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var ranges = Healpix.QueryDisc(order, 150.0, 2.2, radiusDeg);
        watch.Stop();
        var count = ranges.Sum(r => r.Count);
        var pixelArea = 4 * Math.PI / Healpix.PixelCount(order);
        var radius = double.DegreesToRadians(radiusDeg);
        var discPixels = 2 * Math.PI * (1 - Math.Cos(radius)) / pixelArea;
        var rimPixels = 2 * Math.PI * Math.Sin(radius) / Math.Sqrt(pixelArea);
        output.WriteLine($"order {order}, r={radiusDeg} deg: {ranges.Count} ranges, {count} pixels (disc {discPixels:F0}, rim {rimPixels:F0}) in {watch.ElapsedMilliseconds} ms");
        Assert.InRange(count, discPixels, discPixels + (3 * rimPixels));
    }

    [Fact]
    public void QueryDisc_WholeSphere_IsOneRange() =>
        Assert.Equal([new PixelRange(0, Healpix.PixelCount(3) - 1)], Healpix.QueryDisc(3, 10, 10, 180));

    [Theory]
    [InlineData(-1)]
    [InlineData(30)]
    public void Ang2Pix_OrderOutOfRange_Throws(int order) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Healpix.Ang2Pix(order, 0, 0));

    [Theory]
    [InlineData(90.000001)]
    [InlineData(double.NaN)]
    public void Ang2Pix_DeclinationOutOfRange_Throws(double dec) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Healpix.Ang2Pix(5, 0, dec));

    [Fact]
    public void Pix2Ang_PixelOutOfRange_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Healpix.Pix2Ang(0, 12));

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(29)]
    public void Ang2Pix_OfPix2Ang_ReturnsThePixel(int order)
    {
        var random = new Random(order);
        for (var i = 0; i < 1000; i++)
        {
            var pix = random.NextInt64(Healpix.PixelCount(order));
            var (ra, dec) = Healpix.Pix2Ang(order, pix);
            Assert.Equal(pix, Healpix.Ang2Pix(order, ra, dec));
        }
    }

    private static bool Contains(IReadOnlyList<PixelRange> ranges, long pix)
    {
        int lo = 0, hi = ranges.Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) / 2;
            if (pix < ranges[mid].Start)
            {
                hi = mid - 1;
            }
            else if (pix > ranges[mid].End)
            {
                lo = mid + 1;
            }
            else
            {
                return true;
            }
        }

        return false;
    }

    private static (double Ra, double Dec) Offset(double raDeg, double decDeg, double distDeg, double bearing)
    {
        var d1 = double.DegreesToRadians(decDeg);
        var dist = double.DegreesToRadians(distDeg);
        var d2 = Math.Asin((Math.Sin(d1) * Math.Cos(dist)) + (Math.Cos(d1) * Math.Sin(dist) * Math.Cos(bearing)));
        var dra = Math.Atan2(Math.Sin(bearing) * Math.Sin(dist) * Math.Cos(d1), Math.Cos(dist) - (Math.Sin(d1) * Math.Sin(d2)));
        return (SkyAngles.NormalizeRa(raDeg + double.RadiansToDegrees(dra)), double.RadiansToDegrees(d2));
    }
}
