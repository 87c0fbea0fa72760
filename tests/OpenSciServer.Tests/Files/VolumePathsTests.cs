using OpenSciServer.Files;
using OpenSciServer.Infrastructure;

namespace OpenSciServer.Tests.Files;

public sealed class VolumePathsTests
{
    [Theory]
    [InlineData("a/b/c.txt", new[] { "a", "b", "c.txt" })]
    [InlineData("/a//b/", new[] { "a", "b" })]
    [InlineData("", new string[0])]
    [InlineData("...hidden", new[] { "...hidden" })]
    [InlineData("spectrum (1).fits", new[] { "spectrum (1).fits" })]
    [InlineData("ümlaut/日本", new[] { "ümlaut", "日本" })]
    public void Split_AcceptsOrdinaryNames(string path, string[] expected) =>
        Assert.Equal(expected, VolumePaths.Split(path));

    [Theory]
    [InlineData("../etc/passwd")]
    [InlineData("a/../../b")]
    [InlineData("a/./b")]
    [InlineData("..../x")]
    [InlineData("..\\x")]
    [InlineData("C:\\x")]
    [InlineData("\\\\host\\share")]
    [InlineData("%2e%2e%2fetc")]
    [InlineData("%2e%2e")]
    [InlineData("%252e%252e%252fetc")]
    [InlineData("..%c0%af")]
    [InlineData("..%2F")]
    [InlineData("a%2fb")]
    [InlineData("nul\0byte")]
    [InlineData("new\nline")]
    [InlineData("tab\there")]
    public void Split_RefusesTraversalSeparatorsAndControlCharacters(string path) =>
        Assert.Equal(400, Assert.Throws<PlatformException>(() => VolumePaths.Split(path)).StatusCode);

    [Fact]
    public void Split_RefusesNamesOver255BytesAndDeepPaths()
    {
        Assert.Throws<PlatformException>(() => VolumePaths.Split(new string('a', 256)));
        Assert.Throws<PlatformException>(() => VolumePaths.Split(new string('é', 128))); // 256 bytes in UTF-8
        Assert.Equal(["x"], VolumePaths.Split("/x/"));
        Assert.Throws<PlatformException>(() => VolumePaths.Split(string.Join('/', Enumerable.Repeat("d", 65))));
        Assert.Throws<PlatformException>(() => VolumePaths.Split("bad\uD800"));
    }
}
