import org.junit.Test;
import static org.junit.Assert.assertEquals;
import static org.mockito.Mockito.*;

public class GreeterTest {
    private static String at(int hour) {
        Clock clock = mock(Clock.class);
        when(clock.hour()).thenReturn(hour);
        String s = new Greeter(clock).greet();
        verify(clock, atLeastOnce()).hour();
        return s;
    }

    @Test public void morning() { assertEquals("Good morning", at(9)); }
    @Test public void noon() { assertEquals("Good afternoon", at(12)); }
    @Test public void evening() { assertEquals("Good afternoon", at(18)); }
}
