import org.junit.Test;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThat;
import static org.hamcrest.CoreMatchers.is;

public class MaxTest {
    @Test public void oneValue() { assertEquals(5, Max.max(new int[] {5})); }
    @Test public void largestLast() { assertEquals(9, Max.max(new int[] {1, 4, 9})); }
    @Test public void allNegative() { assertThat("max of -3, -1, -7", Max.max(new int[] {-3, -1, -7}), is(-1)); }
}
