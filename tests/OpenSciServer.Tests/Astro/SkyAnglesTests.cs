using OpenSciServer.Astro;

namespace OpenSciServer.Tests.Astro;

public sealed class SkyAnglesTests
{
    [Theory]
    [InlineData(0.0, 0.0)]
    [InlineData(360.0, 0.0)]
    [InlineData(-90.0, 270.0)]
    [InlineData(725.5, 5.5)]
    [InlineData(-1e-17, 0.0)]
    public void NormalizeRa_AnyAngle_FoldsIntoZeroTo360(double ra, double expected) =>
        Assert.Equal(expected, SkyAngles.NormalizeRa(ra), 12);

    [Fact]
    public void Separation_AcrossRaZero_IsTheShortArc() =>
        Assert.Equal(2.0, SkyAngles.Separation(359.0, 0.0, 1.0, 0.0), 12);

    [Fact]
    public void Separation_PoleToEquator_IsNinetyDegrees() =>
        Assert.Equal(90.0, SkyAngles.Separation(123.0, 90.0, 10.0, 0.0), 12);
}
