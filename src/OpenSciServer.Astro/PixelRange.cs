namespace OpenSciServer.Astro;

/// <summary>An inclusive range of HEALPix pixel indices [<see cref="Start"/>, <see cref="End"/>] at one order.</summary>
public readonly record struct PixelRange(long Start, long End)
{
    /// <summary>Number of pixels in the range.</summary>
    public long Count => End - Start + 1;

    /// <summary>Whether <paramref name="pixel"/> lies in the range.</summary>
    public bool Contains(long pixel) => pixel >= Start && pixel <= End;
}
